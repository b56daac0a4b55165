#pragma once

#include "storage/postgres/pg_assistant_store.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

// The outbox on PostgreSQL. Claims use FOR UPDATE SKIP LOCKED with leases, so several
// instances on one database share the queue without running a job twice; a lease that
// expires (its worker died) makes the job claimable again. Runs with the service's claims.
class PgSyncStore final : public SyncStore {
 public:
  PgSyncStore(PgDatabase& db, PgAssistantStore& assistants) : db_(db), assistants_(assistants) {}

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
  Result<std::vector<ScannedAssistant>> Scan(const std::string& sql, const PgParams& params);

  PgDatabase& db_;
  PgAssistantStore& assistants_;
};

class PgKeyStore final : public KeyStore {
 public:
  explicit PgKeyStore(PgDatabase& db) : db_(db) {}
  Result<void> PutKey(const std::string& owner, const StoredKey& key,
                      const ChangeAudit& audit) override;
  Result<std::optional<StoredKey>> GetKey(const std::string& owner) override;
  Result<bool> DeleteKey(const std::string& owner, const ChangeAudit& audit) override;
  Result<std::vector<std::pair<std::string, StoredKey>>> AllKeys() override;
  Result<ResealCounts> Reseal(
      const ResealFn& reseal,
      const std::function<ChangeAudit(const ResealCounts&)>& audit) override;

 private:
  PgDatabase& db_;
};

}  // namespace assistantd::storage
