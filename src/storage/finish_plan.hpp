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

}  // namespace assistantd::storage
