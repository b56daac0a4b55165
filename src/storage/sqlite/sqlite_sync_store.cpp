#include "storage/sqlite/sqlite_sync_store.hpp"

#include "storage/finish_plan.hpp"
#include "storage/rows.hpp"

namespace assistantd::storage {
namespace {

constexpr const char* kJobColumns =
    "id, assistant_id, user_id, vapi_id, state, attempts, next_attempt_at, create_sent_at, "
    "last_error, created_at, updated_at, api_key_sealed, lease_until";

// Runs a statement that changes rows; returns how many.
template <class Bind>
Result<int64_t> Exec(SqliteConnection& conn, const std::string& sql, Bind&& bind) {
  auto stmt = conn.Prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  bind(*stmt);
  if (auto r = stmt->Run(); !r) return tl::unexpected(r.error());
  return conn.Changes();
}

Result<std::vector<SyncJob>> QueryJobs(SqliteConnection& conn, const std::string& sql,
                                       const std::function<void(SqliteStatement&)>& bind) {
  auto stmt = conn.Prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  bind(*stmt);
  std::vector<SyncJob> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    out.push_back(ReadJob(SqliteRow{*stmt}));
  }
}

// Claims the next due job inside the caller's transaction. Claims run in the group commit
// and are acknowledged once on disk: a claim that records the intent to create must be there
// before the create is sent, or a lost answer plus a power cut could make a second copy.
Result<std::optional<SyncJob>> ClaimIn(SqliteConnection& conn, int64_t now_us, int64_t lease_us) {
  auto jobs = QueryJobs(
      conn,
      // A job whose worker died first, else the most overdue queued one: two single-row index
      // searches (one OR'd query made SQLite collect and sort every due job per claim). An
      // intent left by an interrupted claim becomes create_sent_at ("search before creating").
      std::string("UPDATE sync_jobs SET state = 'running', lease_until = ?1, updated_at = ?2, "
                  "create_sent_at = COALESCE(create_sent_at, create_intent_at), "
                  "create_intent_at = CASE WHEN vapi_id IS NULL THEN ?2 END "
                  "WHERE id = COALESCE((SELECT id FROM sync_jobs WHERE state = 'running' AND "
                  "lease_until < ?2 LIMIT 1), (SELECT id FROM sync_jobs WHERE state = 'queued' "
                  "AND next_attempt_at <= ?2 ORDER BY next_attempt_at, id LIMIT 1)) RETURNING ") +
          kJobColumns,
      [&](SqliteStatement& s) {
        s.Bind(1, now_us + lease_us);
        s.Bind(2, now_us);
      });
  if (!jobs) return tl::unexpected(jobs.error());
  if (jobs->empty()) return std::optional<SyncJob>();
  return std::optional<SyncJob>(std::move(jobs->front()));
}

}  // namespace

Result<void> EnqueueSync(SqliteConnection& conn, const std::string& assistant_id,
                         const std::string& user_id, const std::optional<std::string>& vapi_id,
                         int64_t now_us, const std::optional<std::string>& job_key) {
  // One open job per assistant: a later write joins the open job (the worker always syncs
  // the latest state, so nothing is lost by coalescing). A newer per-request key replaces
  // the one the job carries.
  auto r = Exec(conn,
                "INSERT INTO sync_jobs (assistant_id, user_id, vapi_id, next_attempt_at, "
                "created_at, updated_at, api_key_sealed) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (assistant_id) WHERE state IN ('queued', 'running') DO UPDATE SET "
                "vapi_id = COALESCE(excluded.vapi_id, vapi_id), updated_at = excluded.updated_at, "
                "api_key_sealed = COALESCE(excluded.api_key_sealed, api_key_sealed)",
                [&](SqliteStatement& s) {
                  s.Bind(1, std::string_view(assistant_id));
                  s.Bind(2, std::string_view(user_id));
                  s.Bind(3, vapi_id);
                  s.Bind(4, now_us);
                  s.Bind(5, now_us);
                  s.Bind(6, now_us);
                  if (job_key) {
                    s.BindBlob(7, *job_key);
                  } else {
                    s.BindNull(7);
                  }
                });
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<std::optional<SyncJob>> SqliteSyncStore::ClaimDue(int64_t now_us, int64_t lease_us) {
  {
    // Idle workers poll often: look with a plain read first, and queue a write only when
    // something is due.
    auto conn = db_.Acquire();
    auto peek = conn->Prepare(
        "SELECT 1 FROM sync_jobs WHERE (state = 'queued' AND next_attempt_at <= ?) OR "
        "(state = 'running' AND lease_until < ?) LIMIT 1");
    if (!peek) return tl::unexpected(peek.error());
    peek->Bind(1, now_us);
    peek->Bind(2, now_us);
    auto row = peek->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<SyncJob>();
  }
  // Through the group commit, like every write: the claim shares the batch's transaction and
  // flush, and the batch writer's page cache stays warm.
  return db_.WriteValue<std::optional<SyncJob>>(
      [&](SqliteConnection& conn) { return ClaimIn(conn, now_us, lease_us); });
}

Result<void> SqliteSyncStore::MarkCreateSent(int64_t job_id, int64_t at_us) {
  return db_.Write([&](SqliteConnection& conn) -> Result<void> {
    auto r =
        Exec(conn, "UPDATE sync_jobs SET create_sent_at = COALESCE(create_sent_at, ?) WHERE id = ?",
             [&](SqliteStatement& s) {
               s.Bind(1, at_us);
               s.Bind(2, job_id);
             });
    if (!r) return tl::unexpected(r.error());
    return {};
  });
}

Result<std::optional<domain::Assistant>> SqliteSyncStore::LoadForSync(const std::string& id) {
  return assistants_.LoadAny(id);
}

namespace {

class SqliteFinishSteps final : public FinishSteps {
 public:
  explicit SqliteFinishSteps(SqliteConnection& conn) : conn_(conn) {}

  Result<std::optional<AssistantState>> Assistant(const std::string& id) override {
    auto stmt = conn_.Prepare("SELECT version, sync_status FROM assistants WHERE id = ?");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(id));
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<AssistantState>();
    return std::optional<AssistantState>(AssistantState{stmt->Int(0), stmt->Text(1) == "deleting"});
  }
  Result<bool> HoldsLease(const SyncJob& job) override {
    auto lease = conn_.Prepare(
        "SELECT 1 FROM sync_jobs WHERE id = ? AND state = 'running' AND lease_until IS ?");
    if (!lease) return tl::unexpected(lease.error());
    lease->Bind(1, job.id);
    if (job.lease_until_us) {
      lease->Bind(2, *job.lease_until_us);
    } else {
      lease->BindNull(2);
    }
    return lease->Step();
  }
  Result<void> ApplyToAssistant(const FinishPlan& plan, const SyncJob& job, const SyncOutcome& o,
                                int64_t now_us) override {
    using A = FinishPlan::Assistant;
    const std::string_view id = job.assistant_id;
    Result<int64_t> r = 0;
    switch (plan.assistant) {
      case A::kNone:
        break;
      case A::kRecordVapiId:
        r = Exec(conn_, "UPDATE assistants SET vapi_id = ? WHERE id = ?", [&](SqliteStatement& s) {
          s.Bind(1, o.vapi_id);
          s.Bind(2, id);
        });
        break;
      case A::kRecordSync:
        r = Exec(conn_,
                 "UPDATE assistants SET vapi_id = ?, sync_status = ?, sync_error = NULL, "
                 "last_synced_at = ? WHERE id = ?",
                 [&](SqliteStatement& s) {
                   s.Bind(1, o.vapi_id);
                   s.Bind(2, std::string_view(plan.sync_status));
                   s.Bind(3, now_us);
                   s.Bind(4, id);
                 });
        break;
      case A::kDelete:
        r = Exec(conn_, "DELETE FROM assistants WHERE id = ? AND sync_status = 'deleting'",
                 [&](SqliteStatement& s) { s.Bind(1, id); });
        break;
      case A::kSetError:
      case A::kFail:
        r = Exec(conn_,
                 plan.assistant == A::kFail
                     ? "UPDATE assistants SET sync_status = 'failed', sync_error = ? WHERE id = ?"
                     : "UPDATE assistants SET sync_error = ? WHERE id = ?",
                 [&](SqliteStatement& s) {
                   s.Bind(1, std::string_view(o.error));
                   s.Bind(2, id);
                 });
        break;
    }
    if (!r) return tl::unexpected(r.error());
    return {};
  }
  Result<void> UpdateJob(const FinishPlan& plan, const SyncJob& job, int64_t now_us) override {
    auto r =
        Exec(conn_,
             "UPDATE sync_jobs SET state = ?, last_error = ?, vapi_id = COALESCE(?, vapi_id), "
             "attempts = CASE WHEN ? THEN 0 ELSE attempts + ? END, next_attempt_at = ?, "
             "lease_until = NULL, create_sent_at = ?, create_intent_at = NULL, updated_at = ?, "
             // A per-request key lives only as long as its job.
             "api_key_sealed = CASE WHEN ?1 IN ('done', 'dead') THEN NULL ELSE api_key_sealed "
             "END WHERE id = ?",
             [&](SqliteStatement& s) {
               s.Bind(1, std::string_view(plan.job_state));
               s.Bind(2, plan.job_error);
               s.Bind(3, plan.job_vapi_id);
               s.Bind(4, int64_t{plan.requeue ? 1 : 0});
               s.Bind(5, int64_t{plan.count_attempt ? 1 : 0});
               s.Bind(6, plan.next_attempt_at_us);
               if (plan.create_sent_at_us) {
                 s.Bind(7, *plan.create_sent_at_us);
               } else {
                 s.BindNull(7);
               }
               s.Bind(8, now_us);
               s.Bind(9, job.id);
             });
    if (!r) return tl::unexpected(r.error());
    return {};
  }
  Result<void> RecordAttempt(const SyncJob& job, const SyncAttempt& a) override {
    auto r = Exec(conn_,
                  "INSERT INTO sync_attempts (job_id, assistant_id, operation, outcome, status, "
                  "error, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  [&](SqliteStatement& s) {
                    s.Bind(1, job.id);
                    s.Bind(2, std::string_view(job.assistant_id));
                    s.Bind(3, std::string_view(a.operation));
                    s.Bind(4, std::string_view(a.outcome));
                    if (a.status) {
                      s.Bind(5, int64_t{*a.status});
                    } else {
                      s.BindNull(5);
                    }
                    s.Bind(6, a.error);
                    s.Bind(7, a.started_at_us);
                    s.Bind(8, a.finished_at_us);
                  });
    if (!r) return tl::unexpected(r.error());
    return {};
  }
  Result<std::optional<SyncJob>> ClaimNext(int64_t now_us, int64_t lease_us) override {
    return ClaimIn(conn_, now_us, lease_us);
  }

 private:
  SqliteConnection& conn_;
};

}  // namespace

Result<std::optional<SyncJob>> SqliteSyncStore::Finish(const SyncJob& job, const SyncOutcome& o,
                                                       int64_t now_us,
                                                       std::optional<int64_t> claim_lease_us) {
  // In the group commit with the next claim (see ClaimDue). A unit may run again if its batch
  // rolls back under it: it only reads and writes the database.
  return db_.WriteValue<std::optional<SyncJob>>(
      [&](SqliteConnection& conn) -> Result<std::optional<SyncJob>> {
        SqliteFinishSteps steps(conn);
        return RecordOutcome(steps, job, o, now_us, claim_lease_us);
      });
}

Result<int> SqliteSyncStore::RequeueRunning(int64_t now_us) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  auto r = Exec(*conn,
                "UPDATE sync_jobs SET state = 'queued', lease_until = NULL, next_attempt_at = ?, "
                "updated_at = ? WHERE state = 'running'",
                [&](SqliteStatement& s) {
                  s.Bind(1, now_us);
                  s.Bind(2, now_us);
                });
  if (!r) return tl::unexpected(r.error());
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return static_cast<int>(*r);
}

Result<SyncOverview> SqliteSyncStore::Overview() {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(
      "SELECT COALESCE(SUM(state = 'queued'), 0), COALESCE(SUM(state = 'running'), 0), "
      "COALESCE(SUM(state = 'dead'), 0), MIN(CASE WHEN state = 'queued' THEN created_at END) "
      "FROM sync_jobs WHERE state <> 'done'");
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  SyncOverview o;
  o.queued = stmt->Int(0);
  o.running = stmt->Int(1);
  o.dead = stmt->Int(2);
  if (!stmt->IsNull(3)) o.oldest_queued_at_us = stmt->Int(3);
  return o;
}

Result<std::optional<SyncJob>> SqliteSyncStore::LatestJob(const std::string& assistant_id) {
  auto conn = db_.Acquire();
  auto jobs = QueryJobs(*conn,
                        std::string("SELECT ") + kJobColumns +
                            " FROM sync_jobs WHERE assistant_id = ? ORDER BY id DESC LIMIT 1",
                        [&](SqliteStatement& s) { s.Bind(1, std::string_view(assistant_id)); });
  if (!jobs) return tl::unexpected(jobs.error());
  if (jobs->empty()) return std::optional<SyncJob>();
  return std::optional<SyncJob>(jobs->front());
}

Result<std::vector<SyncAttempt>> SqliteSyncStore::RecentAttempts(const std::string& assistant_id,
                                                                 int limit) {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare(
      "SELECT operation, outcome, status, error, started_at, finished_at FROM sync_attempts "
      "WHERE assistant_id = ? ORDER BY id DESC LIMIT ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(assistant_id));
  stmt->Bind(2, int64_t{limit});
  std::vector<SyncAttempt> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    SyncAttempt a;
    a.operation = stmt->Text(0);
    a.outcome = stmt->Text(1);
    if (!stmt->IsNull(2)) a.status = static_cast<int>(stmt->Int(2));
    a.error = stmt->OptionalText(3);
    a.started_at_us = stmt->Int(4);
    a.finished_at_us = stmt->Int(5);
    out.push_back(std::move(a));
  }
}

Result<std::vector<SyncJob>> SqliteSyncStore::DeadJobs(int limit) {
  auto conn = db_.Acquire();
  return QueryJobs(*conn,
                   std::string("SELECT ") + kJobColumns +
                       " FROM sync_jobs WHERE state = 'dead' ORDER BY id DESC LIMIT ?",
                   [&](SqliteStatement& s) { s.Bind(1, int64_t{limit}); });
}

Result<bool> SqliteSyncStore::Resync(const std::string& assistant_id,
                                     const domain::AccessScope& scope, int64_t now_us,
                                     const std::optional<std::string>& job_key,
                                     const Precondition& precondition) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  auto found = assistants_.GetWith(*conn, assistant_id, &scope);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return false;
  if (precondition) {
    if (auto ok = precondition(**found); !ok) return tl::unexpected(ok.error());
  }
  if (auto r =
          EnqueueSync(*conn, assistant_id, (*found)->user_id, (*found)->vapi_id, now_us, job_key);
      !r) {
    return tl::unexpected(r.error());
  }
  auto r = Exec(*conn, "UPDATE assistants SET sync_status = 'pending' WHERE id = ?",
                [&](SqliteStatement& s) { s.Bind(1, std::string_view(assistant_id)); });
  if (!r) return tl::unexpected(r.error());
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return true;
}

Result<int> SqliteSyncStore::WakeQueued(const std::optional<std::string>& user_id, int64_t now_us) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn, Durability::kRelaxed);
  if (!tx) return tl::unexpected(tx.error());
  auto r = Exec(*conn,
                "UPDATE sync_jobs SET next_attempt_at = ?1 WHERE state = 'queued' AND "
                "next_attempt_at > ?1 AND (?2 IS NULL OR user_id = ?2)",
                [&](SqliteStatement& s) {
                  s.Bind(1, now_us);
                  s.Bind(2, user_id);
                });
  if (!r) return tl::unexpected(r.error());
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return static_cast<int>(*r);
}

Result<bool> SqliteSyncStore::RetryDead(int64_t job_id, int64_t now_us) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  // Refused (0 rows) while another open job exists for the same assistant.
  auto r = Exec(*conn,
                "UPDATE sync_jobs SET state = 'queued', attempts = 0, next_attempt_at = ?, "
                "updated_at = ? WHERE id = ? AND state = 'dead' AND NOT EXISTS (SELECT 1 FROM "
                "sync_jobs o WHERE o.assistant_id = sync_jobs.assistant_id AND o.state IN "
                "('queued', 'running'))",
                [&](SqliteStatement& s) {
                  s.Bind(1, now_us);
                  s.Bind(2, now_us);
                  s.Bind(3, job_id);
                });
  if (!r) return tl::unexpected(r.error());
  if (*r > 0) {
    auto a = Exec(*conn,
                  "UPDATE assistants SET sync_status = 'pending' WHERE id = (SELECT assistant_id "
                  "FROM sync_jobs WHERE id = ?) AND sync_status = 'failed'",
                  [&](SqliteStatement& s) { s.Bind(1, job_id); });
    if (!a) return tl::unexpected(a.error());
  }
  if (auto c = tx->Commit(); !c) return tl::unexpected(c.error());
  return *r > 0;
}

Result<std::vector<ScannedAssistant>> SqliteSyncStore::ScanAssistants(const std::string& after_id,
                                                                      int limit) {
  return assistants_.Scan(after_id, limit);
}

Result<std::optional<ScannedAssistant>> SqliteSyncStore::ScanAssistant(const std::string& id) {
  auto rows = assistants_.Scan(id, 1, &id);
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty()) return std::optional<ScannedAssistant>();
  return std::optional<ScannedAssistant>(std::move(rows->front()));
}

Result<std::string> SqliteSyncStore::InstanceId() {
  auto conn = db_.Acquire();
  auto stmt = conn->Prepare("SELECT instance_id FROM instance WHERE singleton = 1");
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return Internal("the instance table is empty");
  return stmt->Text(0);
}

Result<std::string> SqliteSyncStore::ClaimProfile(const std::string& profile) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  std::string recorded;
  {
    auto stmt = conn->Prepare(
        "UPDATE instance SET profile = COALESCE(profile, ?) WHERE singleton = 1 RETURNING profile");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, std::string_view(profile));
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return Internal("the instance table is empty");
    recorded = stmt->Text(0);
    if (auto done = stmt->Step(); !done) return tl::unexpected(done.error());
  }
  if (auto r = tx->Commit(); !r) return tl::unexpected(r.error());
  return recorded;
}

Result<void> SqliteSyncStore::SetInstanceId(const std::string& instance_id) {
  auto conn = db_.Acquire();
  auto tx = SqliteTransaction::Begin(db_, *conn);
  if (!tx) return tl::unexpected(tx.error());
  auto r = Exec(*conn, "UPDATE instance SET instance_id = ? WHERE singleton = 1",
                [&](SqliteStatement& s) { s.Bind(1, std::string_view(instance_id)); });
  if (!r) return tl::unexpected(r.error());
  return tx->Commit();
}

}  // namespace assistantd::storage
