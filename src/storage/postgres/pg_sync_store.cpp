#include "storage/postgres/pg_sync_store.hpp"

#include "storage/finish_plan.hpp"
#include "storage/postgres/pg_audit_store.hpp"
#include "storage/reseal_plan.hpp"
#include "storage/rows.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kJobColumns =
    "id, assistant_id::text, user_id::text, vapi_id, state, attempts, "
    "assistantd_us(next_attempt_at), assistantd_us(create_sent_at), last_error, "
    "assistantd_us(created_at), assistantd_us(updated_at), api_key_sealed, "
    "assistantd_us(lease_until)";

std::vector<SyncJob> ReadJobs(const PgResult& r) {
  std::vector<SyncJob> out;
  for (int row = 0; row < r.Rows(); ++row) out.push_back(ReadJob(PgRow{r, row}));
  return out;
}

std::optional<std::string> Micros(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

// Claims the next due job inside the caller's transaction (see SqliteSyncStore: an expired
// lease first, else the most overdue queued job; a job about to be created records its
// intent and makes the transaction durable). SKIP LOCKED: instances never wait for or take
// a job another instance is claiming.
Result<std::optional<SyncJob>> ClaimIn(PgConnection& conn, PgTransaction& tx, int64_t now_us,
                                       int64_t lease_us) {
  auto r = conn.Exec(
      std::string(
          "UPDATE sync_jobs SET state = 'running', lease_until = assistantd_ts($1), "
          "updated_at = assistantd_ts($2), "
          "create_sent_at = COALESCE(create_sent_at, create_intent_at), "
          "create_intent_at = CASE WHEN vapi_id IS NULL THEN assistantd_ts($2) END "
          "WHERE id = COALESCE("
          "(SELECT id FROM sync_jobs WHERE state = 'running' AND lease_until < assistantd_ts($2) "
          "LIMIT 1 FOR UPDATE SKIP LOCKED), "
          "(SELECT id FROM sync_jobs WHERE state = 'queued' AND next_attempt_at <= "
          "assistantd_ts($2) ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)) "
          "RETURNING ") +
          kJobColumns,
      {std::to_string(now_us + lease_us), std::to_string(now_us)});
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return std::optional<SyncJob>();
  SyncJob job = ReadJob(PgRow{*r, 0});
  if (!job.vapi_id) {
    if (auto d = tx.SetDurable(); !d) return tl::unexpected(d.error());
  }
  return std::optional<SyncJob>(std::move(job));
}

}  // namespace

Result<std::optional<SyncJob>> PgSyncStore::ClaimDue(int64_t now_us, int64_t lease_us) {
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, ServiceClaims(), /*relaxed=*/true);
  if (!tx) return tl::unexpected(tx.error());
  auto job = ClaimIn(*conn, *tx, now_us, lease_us);
  if (!job) return job;
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return job;
}

Result<void> PgSyncStore::MarkCreateSent(int64_t job_id, int64_t at_us) {
  auto r =
      db_.Query(ServiceClaims(),
                "UPDATE sync_jobs SET create_sent_at = COALESCE(create_sent_at, assistantd_ts($1)) "
                "WHERE id = $2",
                {std::to_string(at_us), std::to_string(job_id)});
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<std::optional<domain::Assistant>> PgSyncStore::LoadForSync(const std::string& id) {
  return assistants_.LoadAny(id);
}

namespace {

class PgFinishSteps final : public FinishSteps {
 public:
  PgFinishSteps(PgConnection& conn, PgTransaction& tx) : conn_(conn), tx_(tx) {}

  Result<std::optional<AssistantState>> Assistant(const std::string& id) override {
    auto r = conn_.Exec(
        "SELECT version, sync_status FROM assistants WHERE id = $1::uuid FOR UPDATE", {id});
    if (!r) return tl::unexpected(r.error());
    if (r->Rows() == 0) return std::optional<AssistantState>();
    return std::optional<AssistantState>(AssistantState{r->Int(0, 0), r->Text(0, 1) == "deleting"});
  }
  Result<bool> HoldsLease(const SyncJob& job) override {
    auto r = conn_.Exec(
        "SELECT 1 FROM sync_jobs WHERE id = $1 AND state = 'running' AND "
        "lease_until IS NOT DISTINCT FROM assistantd_ts($2) FOR UPDATE",
        {std::to_string(job.id), Micros(job.lease_until_us)});
    if (!r) return tl::unexpected(r.error());
    return r->Rows() > 0;
  }
  Result<void> ApplyToAssistant(const FinishPlan& plan, const SyncJob& job, const SyncOutcome& o,
                                int64_t now_us) override {
    using A = FinishPlan::Assistant;
    const std::string& id = job.assistant_id;
    switch (plan.assistant) {
      case A::kNone:
        return {};
      case A::kRecordVapiId:
        return WithoutRows(
            conn_.Exec("UPDATE assistants SET vapi_id = $1 WHERE id = $2::uuid", {o.vapi_id, id}));
      case A::kRecordSync:
        return WithoutRows(
            conn_.Exec("UPDATE assistants SET vapi_id = $1, sync_status = $2, sync_error = NULL, "
                       "last_synced_at = assistantd_ts($3) WHERE id = $4::uuid",
                       {o.vapi_id, plan.sync_status, std::to_string(now_us), id}));
      case A::kDelete:
        return WithoutRows(conn_.Exec(
            "DELETE FROM assistants WHERE id = $1::uuid AND sync_status = 'deleting'", {id}));
      case A::kSetError:
      case A::kFail:
        return WithoutRows(
            conn_.Exec(plan.assistant == A::kFail
                           ? "UPDATE assistants SET sync_status = 'failed', "
                             "sync_error = $1 WHERE id = $2::uuid"
                           : "UPDATE assistants SET sync_error = $1 WHERE id = $2::uuid",
                       {o.error, id}));
    }
    return {};
  }
  Result<void> UpdateJob(const FinishPlan& plan, const SyncJob& job, int64_t now_us) override {
    return WithoutRows(conn_.Exec(
        "UPDATE sync_jobs SET state = $1, last_error = $2, vapi_id = COALESCE($3, vapi_id), "
        "attempts = CASE WHEN $4::boolean THEN 0 ELSE attempts + $5::integer END, "
        "next_attempt_at = assistantd_ts($6), lease_until = NULL, "
        "create_sent_at = assistantd_ts($7), create_intent_at = NULL, "
        "updated_at = assistantd_ts($8), "
        // A per-request key lives only as long as its job.
        "api_key_sealed = CASE WHEN $1 IN ('done', 'dead') THEN NULL ELSE api_key_sealed END "
        "WHERE id = $9",
        {plan.job_state, plan.job_error, plan.job_vapi_id, plan.requeue ? "true" : "false",
         plan.count_attempt ? "1" : "0", std::to_string(plan.next_attempt_at_us),
         Micros(plan.create_sent_at_us), std::to_string(now_us), std::to_string(job.id)}));
  }
  Result<void> RecordAttempt(const SyncJob& job, const SyncAttempt& a) override {
    return WithoutRows(conn_.Exec(
        "INSERT INTO sync_attempts (job_id, assistant_id, operation, outcome, status, error, "
        "started_at, finished_at) VALUES ($1, $2::uuid, $3, $4, $5::integer, $6, "
        "assistantd_ts($7), assistantd_ts($8))",
        {std::to_string(job.id), job.assistant_id, a.operation, a.outcome,
         a.status ? std::optional<std::string>(std::to_string(*a.status)) : std::nullopt, a.error,
         std::to_string(a.started_at_us), std::to_string(a.finished_at_us)}));
  }
  Result<std::optional<SyncJob>> ClaimNext(int64_t now_us, int64_t lease_us) override {
    return ClaimIn(conn_, tx_, now_us, lease_us);
  }

 private:
  PgConnection& conn_;
  PgTransaction& tx_;
};

}  // namespace

Result<std::optional<SyncJob>> PgSyncStore::Finish(const SyncJob& job, const SyncOutcome& o,
                                                   int64_t now_us,
                                                   std::optional<int64_t> claim_lease_us) {
  return RetryTransient([&]() -> Result<std::optional<SyncJob>> {
    auto conn = db_.Acquire();
    // Outcomes are bookkeeping that is safe to redo: if a crash drops one, the job runs again.
    auto tx = PgTransaction::Begin(*conn, ServiceClaims(), /*relaxed=*/true);
    if (!tx) return tl::unexpected(tx.error());
    PgFinishSteps steps(*conn, *tx);
    auto next = RecordOutcome(steps, job, o, now_us, claim_lease_us);
    if (!next) return next;
    if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
    return next;
  });
}

Result<int> PgSyncStore::RequeueRunning(int64_t now_us) {
  auto r = db_.Query(ServiceClaims(),
                     "UPDATE sync_jobs SET state = 'queued', lease_until = NULL, next_attempt_at = "
                     "assistantd_ts($1), updated_at = assistantd_ts($1) WHERE state = 'running'",
                     {std::to_string(now_us)});
  if (!r) return tl::unexpected(r.error());
  return static_cast<int>(r->Affected());
}

Result<SyncOverview> PgSyncStore::Overview() {
  auto r =
      db_.Query(ServiceClaims(),
                "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = "
                "'running'), count(*) FILTER (WHERE state = 'dead'), assistantd_us(min(created_at) "
                "FILTER (WHERE state = 'queued')) FROM sync_jobs WHERE state <> 'done'");
  if (!r) return tl::unexpected(r.error());
  SyncOverview o;
  o.queued = r->Int(0, 0);
  o.running = r->Int(0, 1);
  o.dead = r->Int(0, 2);
  o.oldest_queued_at_us = r->OptionalInt(0, 3);
  return o;
}

Result<std::optional<SyncJob>> PgSyncStore::LatestJob(const std::string& assistant_id) {
  auto r = db_.Query(ServiceClaims(),
                     std::string("SELECT ") + kJobColumns +
                         " FROM sync_jobs WHERE assistant_id = $1::uuid ORDER BY id DESC LIMIT 1",
                     {assistant_id});
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return std::optional<SyncJob>();
  return std::optional<SyncJob>(ReadJob(PgRow{*r, 0}));
}

Result<std::vector<SyncAttempt>> PgSyncStore::RecentAttempts(const std::string& assistant_id,
                                                             int limit) {
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, ServiceClaims());
  if (!tx) return tl::unexpected(tx.error());
  auto r = conn->Exec(
      "SELECT operation, outcome, status, error, assistantd_us(started_at), "
      "assistantd_us(finished_at) FROM sync_attempts WHERE assistant_id = $1::uuid "
      "ORDER BY id DESC LIMIT $2",
      {assistant_id, std::to_string(limit)});
  if (!r) return tl::unexpected(r.error());
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  std::vector<SyncAttempt> out;
  for (int row = 0; row < r->Rows(); ++row) {
    SyncAttempt a;
    a.operation = r->Text(row, 0);
    a.outcome = r->Text(row, 1);
    if (const auto s = r->OptionalInt(row, 2)) a.status = static_cast<int>(*s);
    a.error = r->OptionalText(row, 3);
    a.started_at_us = r->Int(row, 4);
    a.finished_at_us = r->Int(row, 5);
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<SyncJob>> PgSyncStore::DeadJobs(int limit) {
  auto r = db_.Query(ServiceClaims(),
                     std::string("SELECT ") + kJobColumns +
                         " FROM sync_jobs WHERE state = 'dead' ORDER BY id DESC LIMIT $1",
                     {std::to_string(limit)});
  if (!r) return tl::unexpected(r.error());
  return ReadJobs(*r);
}

Result<bool> PgSyncStore::Resync(const std::string& assistant_id, const domain::AccessScope& scope,
                                 int64_t now_us, const std::optional<std::string>& job_key,
                                 const Precondition& precondition) {
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, ServiceClaims());
  if (!tx) return tl::unexpected(tx.error());
  // Locked: the check and the change see the same row.
  auto found = assistants_.GetWith(*conn, assistant_id, &scope, /*lock=*/true);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return false;
  if (precondition) {
    if (auto ok = precondition(**found); !ok) return tl::unexpected(ok.error());
  }
  if (auto r =
          PgEnqueueSync(*conn, assistant_id, (*found)->user_id, (*found)->vapi_id, now_us, job_key);
      !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = conn->Exec("UPDATE assistants SET sync_status = 'pending' WHERE id = $1::uuid",
                          {assistant_id});
      !r) {
    return tl::unexpected(r.error());
  }
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return true;
}

Result<int> PgSyncStore::WakeQueued(const std::optional<std::string>& user_id, int64_t now_us) {
  auto r = db_.Query(
      ServiceClaims(),
      "UPDATE sync_jobs SET next_attempt_at = assistantd_ts($1) WHERE state = 'queued' AND "
      "next_attempt_at > assistantd_ts($1) AND ($2::uuid IS NULL OR user_id = $2::uuid)",
      {std::to_string(now_us), user_id}, /*relaxed=*/true);
  if (!r) return tl::unexpected(r.error());
  return static_cast<int>(r->Affected());
}

Result<bool> PgSyncStore::RetryDead(int64_t job_id, int64_t now_us) {
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, ServiceClaims());
  if (!tx) return tl::unexpected(tx.error());
  // Refused (0 rows) while another open job exists for the same assistant.
  auto r = conn->Exec(
      "UPDATE sync_jobs SET state = 'queued', attempts = 0, next_attempt_at = assistantd_ts($1), "
      "updated_at = assistantd_ts($1) WHERE id = $2 AND state = 'dead' AND NOT EXISTS (SELECT 1 "
      "FROM sync_jobs o WHERE o.assistant_id = sync_jobs.assistant_id AND o.state IN ('queued', "
      "'running'))",
      {std::to_string(now_us), std::to_string(job_id)});
  if (!r) return tl::unexpected(r.error());
  if (r->Affected() > 0) {
    auto a = conn->Exec(
        "UPDATE assistants SET sync_status = 'pending' WHERE id = (SELECT assistant_id FROM "
        "sync_jobs WHERE id = $1) AND sync_status = 'failed'",
        {std::to_string(job_id)});
    if (!a) return tl::unexpected(a.error());
  }
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return r->Affected() > 0;
}

Result<std::vector<ScannedAssistant>> PgSyncStore::Scan(const std::string& where,
                                                        const PgParams& params) {
  auto conn = db_.Acquire();
  auto tx = PgTransaction::Begin(*conn, ServiceClaims());
  if (!tx) return tl::unexpected(tx.error());
  auto r = conn->Exec("SELECT " + assistants_.SelectColumns() +
                          ", EXISTS (SELECT 1 FROM sync_jobs j WHERE j.assistant_id = "
                          "assistants.id AND j.state IN ('queued', 'running')) FROM assistants " +
                          where,
                      params);
  if (!r) return tl::unexpected(r.error());
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  std::vector<ScannedAssistant> out;
  for (int row = 0; row < r->Rows(); ++row) {
    auto a = ReadAssistant(PgRow{*r, row});
    if (!a) return tl::unexpected(a.error());
    // The open-job flag is the column after the assistant's.
    out.push_back({std::move(*a), r->Bool(row, r->Columns() - 1)});
  }
  return out;
}

Result<std::vector<ScannedAssistant>> PgSyncStore::ScanAssistants(const std::string& after_id,
                                                                  int limit) {
  // Ids are UUIDs; an empty `after_id` starts from the first.
  if (after_id.empty()) {
    return Scan("ORDER BY id LIMIT $1", {std::to_string(limit)});
  }
  return Scan("WHERE id > $1::uuid ORDER BY id LIMIT $2", {after_id, std::to_string(limit)});
}

Result<std::optional<ScannedAssistant>> PgSyncStore::ScanAssistant(const std::string& id) {
  auto rows = Scan("WHERE id = $1::uuid", {id});
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty()) return std::optional<ScannedAssistant>();
  return std::optional<ScannedAssistant>(std::move(rows->front()));
}

Result<std::string> PgSyncStore::InstanceId() {
  auto r = db_.Query(ServiceClaims(), "SELECT instance_id FROM instance WHERE singleton = 1");
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return Internal("the instance table is empty");
  return r->Text(0, 0);
}

Result<void> PgKeyStore::PutKey(const std::string& owner, const StoredKey& key,
                                const ChangeAudit& audit) {
  return db_
      .Write<bool>([&](PgConnection& conn) -> Result<bool> {
        if (auto c = conn.SetClaims(ServiceClaims()); !c) return tl::unexpected(c.error());
        conn.Defer(
            "INSERT INTO vapi_keys (owner, sealed, last4, updated_at) VALUES ($1, $2::bytea, $3, "
            "assistantd_ts($4)) ON CONFLICT (owner) DO UPDATE SET sealed = excluded.sealed, "
            "last4 = excluded.last4, updated_at = excluded.updated_at",
            {owner, PgBytea(key.sealed), key.last4, std::to_string(key.updated_at_us)});
        if (auto a = PgAppendUnsealed(conn, audit); !a) return tl::unexpected(a.error());
        return true;
      })
      .map([](bool) {});
}

Result<std::optional<StoredKey>> PgKeyStore::GetKey(const std::string& owner) {
  auto r = db_.Query(
      ServiceClaims(),
      "SELECT sealed, last4, assistantd_us(updated_at) FROM vapi_keys WHERE owner = $1", {owner});
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return std::optional<StoredKey>();
  return std::optional<StoredKey>(StoredKey{r->Bytes(0, 0), r->Text(0, 1), r->Int(0, 2)});
}

Result<bool> PgKeyStore::DeleteKey(const std::string& owner, const ChangeAudit& audit) {
  return db_.Write<bool>([&](PgConnection& conn) -> Result<bool> {
    if (auto c = conn.SetClaims(ServiceClaims()); !c) return tl::unexpected(c.error());
    auto r = conn.Exec("DELETE FROM vapi_keys WHERE owner = $1", {owner});
    if (!r) return tl::unexpected(r.error());
    if (r->Affected() == 0) return false;
    if (auto a = PgAppendUnsealed(conn, audit); !a) return tl::unexpected(a.error());
    return true;
  });
}

Result<KeyStore::ResealCounts> PgKeyStore::Reseal(
    const ResealFn& reseal, const std::function<ChangeAudit(const ResealCounts&)>& audit) {
  return db_.Write<ResealCounts>([&](PgConnection& conn) -> Result<ResealCounts> {
    if (auto c = conn.SetClaims(ServiceClaims()); !c) return tl::unexpected(c.error());
    std::vector<SealedRow> rows;
    for (const auto& [job, sql] :
         {std::pair{false, "SELECT owner, sealed FROM vapi_keys FOR UPDATE"},
          std::pair{true,
                    "SELECT id::text, api_key_sealed FROM sync_jobs "
                    "WHERE api_key_sealed IS NOT NULL FOR UPDATE"}}) {
      auto r = conn.Exec(sql);
      if (!r) return tl::unexpected(r.error());
      for (int i = 0; i < r->Rows(); ++i) rows.push_back({job, r->Text(i, 0), r->Bytes(i, 1)});
    }
    auto plan = PlanReseal(std::move(rows), reseal);
    if (!plan) return tl::unexpected(plan.error());
    for (const auto& [row, sealed] : plan->updates) {
      auto r = conn.Exec(
          row.job ? "UPDATE sync_jobs SET api_key_sealed = $1::bytea WHERE id = $2::bigint"
                  : "UPDATE vapi_keys SET sealed = $1::bytea WHERE owner = $2",
          {PgBytea(sealed), row.id});
      if (!r) return tl::unexpected(r.error());
    }
    if (auto a = PgAppendUnsealed(conn, audit(plan->counts)); !a) return tl::unexpected(a.error());
    return plan->counts;
  });
}

Result<std::string> PgSyncStore::ClaimProfile(const std::string& profile) {
  auto conn = db_.Acquire();
  // As the connecting user, like SetInstanceId: the application role only reads the table.
  auto r = conn->Exec(
      "UPDATE instance SET profile = COALESCE(profile, $1) WHERE singleton = 1 RETURNING profile",
      {profile});
  if (!r) return tl::unexpected(r.error());
  if (r->Rows() == 0) return Internal("the instance table is empty");
  return r->Text(0, 0);
}

Result<void> PgSyncStore::SetInstanceId(const std::string& instance_id) {
  auto conn = db_.Acquire();
  // The application role may only read this table: an import runs as the connecting user.
  auto r = conn->Exec("UPDATE instance SET instance_id = $1 WHERE singleton = 1", {instance_id});
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<std::vector<std::pair<std::string, StoredKey>>> PgKeyStore::AllKeys() {
  auto r = db_.Query(
      ServiceClaims(),
      "SELECT owner, sealed, last4, assistantd_us(updated_at) FROM vapi_keys ORDER BY owner");
  if (!r) return tl::unexpected(r.error());
  std::vector<std::pair<std::string, StoredKey>> out;
  for (int row = 0; row < r->Rows(); ++row) {
    out.emplace_back(r->Text(row, 0), StoredKey{r->Bytes(row, 1), r->Text(row, 2), r->Int(row, 3)});
  }
  return out;
}

}  // namespace assistantd::storage
