#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "storage/storage.hpp"

namespace assistantd::storage {

// What recording a sync outcome changes, decided once for every backend (each backend only
// turns it into its SQL): the job row, and the assistant row when it still exists.
struct FinishPlan {
  std::string job_state;  // queued (again), done, dead
  std::optional<std::string> job_error;
  std::optional<std::string> job_vapi_id;  // kept unless null
  bool requeue = false;                    // attempts start again from 0
  bool count_attempt = false;
  int64_t next_attempt_at_us = 0;
  std::optional<int64_t> create_sent_at_us;

  enum class Assistant {
    kNone,          // nothing to change (or the row is gone)
    kRecordVapiId,  // remember the remote id (the row is being deleted: the job deletes it)
    kRecordSync,    // vapi_id, sync_status (`sync_status`), no error, last_synced_at
    kDelete,        // the remote copy is gone: remove the row being deleted
    kSetError,      // sync_error only
    kFail,          // sync_status failed with the error
  };
  Assistant assistant = Assistant::kNone;
  std::string sync_status;  // kRecordSync: synced, or pending when the row changed meanwhile
};

// `version`: the assistant's version now (nullopt when the row is gone); `deleting`: it is
// being deleted.
inline FinishPlan PlanFinish(const SyncOutcome& o, std::optional<int64_t> version, bool deleting,
                             int64_t now_us) {
  using Kind = SyncOutcome::Kind;
  using A = FinishPlan::Assistant;
  FinishPlan p;
  p.next_attempt_at_us = now_us;
  switch (o.kind) {
    case Kind::kSynced:
      p.job_vapi_id = o.vapi_id;
      if (!version || deleting) {
        // Deleted while we were creating/updating: remember the remote id and go delete it.
        p.job_state = "queued";
        p.requeue = true;
        p.assistant = version ? A::kRecordVapiId : A::kNone;
      } else if (*version == o.synced_version) {
        p.job_state = "done";
        p.assistant = A::kRecordSync;
        p.sync_status = "synced";
      } else {
        // Changed while Vapi was being called: run again with the newer version.
        p.job_state = "queued";
        p.requeue = true;
        p.assistant = A::kRecordSync;
        p.sync_status = "pending";
      }
      break;
    case Kind::kDeleted:
      p.job_state = "done";
      p.assistant = A::kDelete;
      break;
    case Kind::kRetry:
      p.job_state = "queued";
      p.job_error = o.error;
      p.next_attempt_at_us = o.next_attempt_at_us;
      p.count_attempt = o.count_attempt;
      p.create_sent_at_us = o.create_sent_at_us;
      p.assistant = version ? A::kSetError : A::kNone;
      break;
    case Kind::kDead:
      p.job_state = "dead";
      p.job_error = o.error;
      p.count_attempt = true;
      p.create_sent_at_us = o.create_sent_at_us;
      p.assistant = !version ? A::kNone : deleting ? A::kSetError : A::kFail;
      break;
  }
  return p;
}

// The statements that record an outcome, supplied by each backend and run in one transaction
// of its own; RecordOutcome is their order, the same everywhere.
class FinishSteps {
 public:
  virtual ~FinishSteps() = default;
  struct AssistantState {
    int64_t version = 0;
    bool deleting = false;
  };
  // The assistant's state now (locked where the backend has row locks); nullopt when gone.
  virtual Result<std::optional<AssistantState>> Assistant(const std::string& id) = 0;
  // Whether the job is still running under the lease the worker was given (fencing; locked
  // after the assistant, in the order every writer takes them).
  virtual Result<bool> HoldsLease(const SyncJob& job) = 0;
  virtual Result<void> ApplyToAssistant(const FinishPlan& plan, const SyncJob& job,
                                        const SyncOutcome& outcome, int64_t now_us) = 0;
  virtual Result<void> UpdateJob(const FinishPlan& plan, const SyncJob& job, int64_t now_us) = 0;
  virtual Result<void> RecordAttempt(const SyncJob& job, const SyncAttempt& attempt) = 0;
  virtual Result<std::optional<SyncJob>> ClaimNext(int64_t now_us, int64_t lease_us) = 0;
};

// Records `outcome` for `job` and, with `claim_lease_us`, claims the next due job in the same
// transaction. Fails with LeaseLost() when another worker holds the job now.
inline Result<std::optional<SyncJob>> RecordOutcome(FinishSteps& steps, const SyncJob& job,
                                                    const SyncOutcome& outcome, int64_t now_us,
                                                    std::optional<int64_t> claim_lease_us) {
  auto state = steps.Assistant(job.assistant_id);
  if (!state) return tl::unexpected(state.error());
  auto held = steps.HoldsLease(job);
  if (!held) return tl::unexpected(held.error());
  if (!*held) return LeaseLost();
  std::optional<int64_t> version;
  bool deleting = false;
  if (const auto& current = *state) {
    version = current->version;
    deleting = current->deleting;
  }
  const FinishPlan plan = PlanFinish(outcome, version, deleting, now_us);
  if (auto r = steps.ApplyToAssistant(plan, job, outcome, now_us); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = steps.UpdateJob(plan, job, now_us); !r) return tl::unexpected(r.error());
  for (const auto& a : outcome.attempts) {
    if (auto r = steps.RecordAttempt(job, a); !r) return tl::unexpected(r.error());
  }
  if (!claim_lease_us) return std::optional<SyncJob>();
  return steps.ClaimNext(now_us, *claim_lease_us);
}

}  // namespace assistantd::storage
