#pragma once

#include <optional>
#include <string>

#include "storage/sqlite/sqlite_assistant_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

// Queues (or coalesces into the open) sync job for an assistant, inside the caller's
// transaction on `conn`.
Result<void> EnqueueSync(SqliteConnection& conn, const std::string& assistant_id,
                         const std::string& user_id, const std::optional<std::string>& vapi_id,
                         int64_t now_us, const std::optional<std::string>& job_key = std::nullopt);

class SqliteSyncStore final : public SyncStore {
 public:
  SqliteSyncStore(SqliteDatabase& db, SqliteAssistantStore& assistants)
      : db_(db), assistants_(assistants) {}

  Result<std::optional<SyncJob>> ClaimDue(int64_t now_us, int64_t lease_us) override;
  Result<void> MarkCreateSent(int64_t job_id, int64_t at_us) override;
  Result<std::optional<domain::Assistant>> LoadForSync(const std::string& id) override;
  Result<std::optional<SyncJob>> Finish(const SyncJob& job, const SyncOutcome& outcome,
                                        int64_t now_us,
                                        std::optional<int64_t> claim_lease_us) override;
  Result<int> RequeueRunning(int64_t now_us) override;
  Result<SyncOverview> Overview() override;
  Result<std::optional<SyncJob>> LatestJob(const std::string& assistant_id) override;
  Result<std::vector<SyncAttempt>> RecentAttempts(const std::string& assistant_id,
                                                  int limit) override;
  Result<std::vector<SyncJob>> DeadJobs(int limit) override;
  Result<bool> Resync(const std::string& assistant_id, const domain::AccessScope& scope,
                      int64_t now_us, const std::optional<std::string>& job_key,
                      const Precondition& precondition) override;
  Result<int> WakeQueued(const std::optional<std::string>& user_id, int64_t now_us) override;
  Result<bool> RetryDead(int64_t job_id, int64_t now_us) override;
  Result<std::vector<ScannedAssistant>> ScanAssistants(const std::string& after_id,
                                                       int limit) override;
  Result<std::optional<ScannedAssistant>> ScanAssistant(const std::string& id) override;
  Result<std::string> InstanceId() override;
  Result<void> SetInstanceId(const std::string& instance_id) override;
  Result<std::string> ClaimProfile(const std::string& profile) override;

 private:
  SqliteDatabase& db_;
  SqliteAssistantStore& assistants_;
};

}  // namespace assistantd::storage
