#include "storage/postgres/pg_database.hpp"

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/encoding.hpp"
#include "storage/migration.hpp"
#include "storage/storage.hpp"
#include "storage/write_metrics.hpp"

namespace assistantd::storage {

// Generated from migrations/postgres/*.sql by cmake/EmbedSql.cmake.
namespace postgres_migrations {
std::span<const Migration> Migrations();
}

namespace {

// Any number that identifies "assistantd migrations" among advisory locks.
constexpr int64_t kMigrationLock = 0x61737369'7374616e;

std::string_view SqlState(const PGresult* result) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  return state ? std::string_view(state) : std::string_view();
}

}  // namespace

std::string PgBytea(std::string_view bytes) { return "\\x" + HexEncode(bytes); }

int64_t PgResult::Affected() const {
  const char* n = PQcmdTuples(result_.get());
  int64_t v = 0;
  if (n && *n) std::from_chars(n, n + std::strlen(n), v);
  return v;
}

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(result_.get(), row, col),
                     static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

std::optional<std::string> PgResult::OptionalText(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Text(row, col);
}

int64_t PgResult::Int(int row, int col) const {
  const char* v = PQgetvalue(result_.get(), row, col);
  int64_t out = 0;
  std::from_chars(v, v + PQgetlength(result_.get(), row, col), out);
  return out;
}

std::optional<int64_t> PgResult::OptionalInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

bool PgResult::Bool(int row, int col) const {
  return PQgetvalue(result_.get(), row, col)[0] == 't';
}

std::string PgResult::Bytes(int row, int col) const {
  size_t size = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, col)), &size);
  if (!raw) return {};
  std::string out(reinterpret_cast<const char*>(raw), size);
  PQfreemem(raw);
  return out;
}

Error PgError(PGconn* conn, const PGresult* result, std::string_view what) {
  const char* message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  std::string internal = std::string(what) + ": " + (message ? message : "");
  while (!internal.empty() && (internal.back() == '\n' || internal.back() == ' '))
    internal.pop_back();
  const std::string_view state = SqlState(result);
  const auto make = [&](ErrorCode code, const char* reason, const char* text) {
    return Error{code, reason, text, nlohmann::json::array(), internal};
  };
  if (PQstatus(conn) != CONNECTION_OK || state.starts_with("08") || state.starts_with("57P")) {
    return make(ErrorCode::kUnavailable, "storage_unavailable",
                "The database is unavailable; nothing was changed");
  }
  if (state == "40001" || state == "40P01" || state == "55P03") {
    return make(ErrorCode::kUnavailable, "database_busy", "The database is busy; retry shortly");
  }
  if (state == "AD001") {
    // assistantd_check_quota (migration 0005): detail "usage/quota".
    const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
    const std::string_view d = detail ? detail : "";
    int64_t usage = 0, quota = 0;
    const auto slash = d.find('/');
    if (slash != std::string_view::npos) {
      std::from_chars(d.data(), d.data() + slash, usage);
      std::from_chars(d.data() + slash + 1, d.data() + d.size(), quota);
    }
    Error e = QuotaExceeded(quota, usage).value();
    e.internal = internal;
    return e;
  }
  if (state == "53100") {
    return make(ErrorCode::kUnavailable, "storage_full",
                "The server's storage is full; nothing was changed");
  }
  if (state.starts_with("23")) {
    Error e = make(ErrorCode::kConflict, "conflict", "The change conflicts with the current state");
    // Named by the constraint, so the insert needs no round trip of its own to tell.
    const char* constraint = result ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : nullptr;
    if (state == "23503" && constraint &&
        std::string_view(constraint) == "assistants_user_id_fkey") {
      e = AsOwnerNotFound(std::move(e));
    }
    return e;
  }
  if (state == "42501") {
    // Row-level security refused a row the service's own checks let through.
    return make(ErrorCode::kNotFound, "not_found", "Not found");
  }
  return make(ErrorCode::kInternal, "internal_error", "Internal server error");
}

PgConnection::~PgConnection() { PQfinish(conn_); }

void PgConnection::Defer(std::string sql, PgParams params) {
  deferred_.push_back({std::move(sql), std::move(params), queued_++});
}

Result<void> PgConnection::Flush() {
  if (deferred_.empty()) return {};
  auto r = Pipeline(nullptr);
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<std::optional<PgResult>> PgConnection::Pipeline(const Statement* last) {
  std::vector<Statement> queue = std::exchange(deferred_, {});
  failed_.reset();
  if (PQenterPipelineMode(conn_) != 1) return tl::unexpected(PgError(conn_, nullptr, "pipeline"));
  // Each entry sent yields one result (then a null) when read back: a PREPARE for a statement
  // new to this connection, then the statement itself.
  struct Sent {
    const Statement* statement;
    bool prepares;
    std::string name;
  };
  std::vector<Sent> sent;
  std::unordered_map<std::string, std::string> naming;  // prepared in this pipeline
  bool ok = true;
  const auto send = [&](const Statement& s) {
    std::string name;
    bool prepares = false;
    if (auto it = prepared_.find(s.sql); it != prepared_.end()) {
      name = it->second;
    } else if (auto n = naming.find(s.sql); n != naming.end()) {
      name = n->second;
    } else {
      name = "s" + std::to_string(prepared_.size() + naming.size());
      naming.emplace(s.sql, name);
      prepares = true;
      ok = ok && PQsendPrepare(conn_, name.c_str(), s.sql.c_str(), 0, nullptr) == 1;
    }
    std::vector<const char*> values;
    values.reserve(s.params.size());
    for (const auto& p : s.params) values.push_back(p ? p->c_str() : nullptr);
    ok = ok && PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                   values.data(), nullptr, nullptr, 0) == 1;
    sent.push_back({&s, prepares, std::move(name)});
  };
  for (const auto& s : queue) send(s);
  if (last) send(*last);
  ok = ok && PQpipelineSync(conn_) == 1;
  std::optional<Error> failure;
  if (!ok) failure = PgError(conn_, nullptr, "pipeline send");
  std::optional<PgResult> rows;
  // Read everything up to the sync point, whatever happened, so the connection is clean.
  const auto read_one = [&](bool keep, uint64_t number) -> bool {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      if (!failure) failure = PgError(conn_, nullptr, "pipeline read");
      return false;
    }
    const auto status = PQresultStatus(r);
    const bool good = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
    if (!good && !failure) {
      if (status == PGRES_PIPELINE_ABORTED) {
        failure = PgError(conn_, nullptr, "pipeline aborted");
      } else {
        failure = PgError(conn_, r, "statement");
        failed_ = number;
      }
    }
    if (keep && good) {
      rows.emplace(r);
    } else {
      PQclear(r);
    }
    if (PGresult* end = PQgetResult(conn_)) PQclear(end);  // the null closing the entry
    return good;
  };
  for (size_t i = 0; ok && i < sent.size(); ++i) {
    if (sent[i].prepares) {
      if (read_one(false, sent[i].statement->number)) {
        prepared_.emplace(sent[i].statement->sql, sent[i].name);
      }
    }
    read_one(last && i + 1 == sent.size(), sent[i].statement->number);
  }
  if (ok) {
    PGresult* sync = PQgetResult(conn_);  // PGRES_PIPELINE_SYNC
    if (sync) PQclear(sync);
  }
  PQexitPipelineMode(conn_);
  if (failure) return tl::unexpected(*failure);
  return rows;
}

Result<PgResult> PgConnection::Exec(const std::string& sql, const PgParams& params) {
  if (!deferred_.empty()) {
    const Statement last{sql, params, queued_++};
    auto r = Pipeline(&last);
    if (!r) return tl::unexpected(r.error());
    if (!*r) return tl::unexpected(PgError(conn_, nullptr, "pipeline result"));
    return std::move(**r);
  }
  const uint64_t number = queued_++;
  failed_.reset();
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    const std::string name = "s" + std::to_string(prepared_.size());
    PGresult* prepared = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK) {
      failed_ = number;
      Error e = PgError(conn_, prepared, "prepare");
      PQclear(prepared);
      return tl::unexpected(std::move(e));
    }
    PQclear(prepared);
    it = prepared_.emplace(sql, name).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* result = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                                    values.data(), nullptr, nullptr, 0);
  const auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    if (PQstatus(conn_) == CONNECTION_OK) failed_ = number;
    Error e = PgError(conn_, result, "statement");
    PQclear(result);
    return tl::unexpected(std::move(e));
  }
  return PgResult(result);
}

Result<PgResult> PgConnection::ExecAlone(const nlohmann::json& claims, bool relaxed,
                                         const std::string& sql, const PgParams& params) {
  if (auto flushed = Flush(); !flushed) return tl::unexpected(flushed.error());
  claims_.clear();
  if (PQenterPipelineMode(conn_) != 1) return tl::unexpected(PgError(conn_, nullptr, "pipeline"));
  const std::string claims_text = claims.dump();
  const char* claims_value = claims_text.c_str();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  auto it = prepared_.find(sql);
  const bool prepare = it == prepared_.end();
  const std::string name = prepare ? "s" + std::to_string(prepared_.size()) : it->second;
  // The queue, in order; each entry yields one result (then a null) when read back.
  bool sent = PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
              PQsendQueryParams(conn_, "SET LOCAL ROLE assistantd_app", 0, nullptr, nullptr,
                                nullptr, nullptr, 0) == 1 &&
              (!relaxed || PQsendQueryParams(conn_, "SET LOCAL synchronous_commit = off", 0,
                                             nullptr, nullptr, nullptr, nullptr, 0) == 1) &&
              PQsendQueryParams(conn_, "SELECT set_config('request.jwt.claims', $1, true)", 1,
                                nullptr, &claims_value, nullptr, nullptr, 0) == 1 &&
              (!prepare || PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) == 1) &&
              PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                  values.data(), nullptr, nullptr, 0) == 1 &&
              PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
              PQpipelineSync(conn_) == 1;
  const int statement = 3 + (relaxed ? 1 : 0) + (prepare ? 1 : 0);  // index of ours
  const int entries = statement + 2;                                // + COMMIT
  std::optional<PgResult> rows;
  std::optional<Error> failure;
  if (!sent) failure = PgError(conn_, nullptr, "pipeline send");
  // Read every result up to the sync point, whatever happened, so the connection is clean.
  for (int i = 0; sent && i <= entries; ++i) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      if (!failure) failure = PgError(conn_, nullptr, "pipeline read");
      break;
    }
    const auto status = PQresultStatus(r);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (status == PGRES_FATAL_ERROR && !failure) failure = PgError(conn_, r, "statement");
    if (i == statement && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)) {
      rows.emplace(r);
    } else {
      PQclear(r);
    }
    PGresult* end = PQgetResult(conn_);  // the null that closes each entry
    if (end) PQclear(end);
  }
  PQexitPipelineMode(conn_);
  if (prepare && !failure) prepared_.emplace(sql, name);
  if (failure) {
    // An error aborts the rest of the pipeline; the open transaction must go.
    (void)ExecScript("ROLLBACK");
    if (prepare) (void)ExecScript("DEALLOCATE " + name);
    return tl::unexpected(*failure);
  }
  if (!rows) return tl::unexpected(PgError(conn_, nullptr, "pipeline result"));
  return std::move(*rows);
}

Result<void> PgConnection::ExecScript(const std::string& sql) {
  // Transaction control and scripts: whatever the claims were, they may be undone now.
  claims_.clear();
  if (auto flushed = Flush(); !flushed) {
    // A deferred write failed: no COMMIT (PostgreSQL would quietly roll back and report
    // success); the transaction ends here for COMMIT and ROLLBACK alike.
    if (sql.starts_with("COMMIT") || sql.starts_with("ROLLBACK")) {
      PQclear(PQexec(conn_, "ROLLBACK"));
    }
    return flushed;
  }
  PGresult* result = PQexec(conn_, sql.c_str());
  const auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = PgError(conn_, result, "script");
    PQclear(result);
    return tl::unexpected(std::move(e));
  }
  PQclear(result);
  return {};
}

std::string PgConnection::Literal(std::string_view text) const {
  char* quoted = PQescapeLiteral(conn_, text.data(), text.size());
  if (!quoted) return "''";  // only on out-of-memory or bad encoding: an empty literal
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

bool PgConnection::LooksClosed() {
  // An idle connection has nothing to read; if it does, the server sent a goodbye (a
  // terminated backend, a restart) or hung up.
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (p.fd < 0) return true;
  // We never LISTEN, so anything readable means the connection is over.
  return ::poll(&p, 1, 0) > 0;
}

bool PgConnection::Reset() {
  PQreset(conn_);
  prepared_.clear();
  claims_.clear();
  return Healthy();
}

nlohmann::json UserClaims(const std::string& user_id, std::string_view role) {
  return {{"sub", user_id}, {"role", role}};
}

nlohmann::json ServiceClaims() { return {{"role", "service_role"}}; }

Result<void> PgConnection::SetClaims(const nlohmann::json& claims) {
  std::string text = claims.dump();
  if (!claims_.empty() && text == claims_ && InTransaction()) return {};
  // Sent with the statement that needs it.
  Defer("SELECT set_config('request.jwt.claims', $1, true)", {text});
  claims_ = std::move(text);
  return {};
}

Result<PgTransaction> PgTransaction::Begin(PgConnection& conn, const nlohmann::json& claims,
                                           bool relaxed) {
  // One round trip: the role, the claims and (for bookkeeping) the commit mode.
  std::string script = "BEGIN; SET LOCAL ROLE assistantd_app; ";
  if (relaxed) script += "SET LOCAL synchronous_commit = off; ";
  script += "SELECT set_config('request.jwt.claims', " + conn.Literal(claims.dump()) + ", true)";
  if (auto r = conn.ExecScript(script); !r) {
    (void)conn.ExecScript("ROLLBACK");
    return tl::unexpected(r.error());
  }
  return PgTransaction(&conn);
}

Result<void> PgTransaction::SetDurable() {
  return conn_->ExecScript("SET LOCAL synchronous_commit = on");
}

PgTransaction::~PgTransaction() {
  if (conn_) (void)conn_->ExecScript("ROLLBACK");
}

Result<void> PgTransaction::Commit() {
  auto r = conn_->ExecScript("COMMIT");
  conn_ = nullptr;
  return r;
}

void RouteNotices(PGconn* conn, const Logger* logger) {
  if (!conn) return;
  PQsetNoticeReceiver(
      conn,
      [](void* arg, const PGresult* notice) {
        const auto* log = static_cast<const Logger*>(arg);
        const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
        const char* message = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
        const char* code = PQresultErrorField(notice, PG_DIAG_SQLSTATE);
        const std::string level = severity ? severity : "NOTICE";
        LogEvent(*log, level == "WARNING" ? spdlog::level::warn : spdlog::level::debug,
                 "PostgreSQL notice",
                 {{"severity", level},
                  {"message", message ? message : ""},
                  {"sqlstate", code ? code : ""}});
      },
      const_cast<Logger*>(logger));
}

Result<std::unique_ptr<PgConnection>> PgDatabase::Connect() const {
  PGconn* raw = PQconnectdb(settings_.url.c_str());
  RouteNotices(raw, &logger_);
  auto conn = std::make_unique<PgConnection>(raw);
  if (!raw || PQstatus(raw) != CONNECTION_OK) {
    // libpq's message, on one line (it never contains the password).
    std::string why = raw ? PQerrorMessage(raw) : "out of memory";
    for (char& ch : why) {
      if (ch == '\n' || ch == '\t') ch = ' ';
    }
    while (!why.empty() && why.back() == ' ') why.pop_back();
    return Fail(ErrorCode::kUnavailable, "storage_unavailable",
                "cannot connect to PostgreSQL: " + why);
  }
  return conn;
}

Result<std::unique_ptr<PgDatabase>> PgDatabase::Open(const PgSettings& settings, Logger logger) {
  std::unique_ptr<PgDatabase> db(new PgDatabase(settings, std::move(logger)));
  // The writers' connections come on top of the readers'.
  for (int i = 0; i < std::max(1, settings.pool_size) + settings.writers; ++i) {
    auto conn = db->Connect();
    if (!conn) return tl::unexpected(conn.error());
    db->pool_.Add(std::move(*conn));
  }
  auto sync_conn = db->Connect();
  if (!sync_conn) return tl::unexpected(sync_conn.error());
  db->sync_conn_ = std::move(*sync_conn);
  // A connection the server closed while it sat in the pool is reopened before use, so a
  // database restart does not cost each pooled connection one failed request.
  db->pool_.OnLend([logger = db->logger_](PgConnection& conn) {
    if ((!conn.Healthy() || conn.LooksClosed()) && !conn.Reset()) {
      LogEvent(logger, spdlog::level::warn, "cannot reconnect to PostgreSQL");
    }
  });
  db->StartBatcher();
  return db;
}

PgDatabase::~PgDatabase() { batcher_.reset(); }

uint64_t PgDatabase::CommitGeneration() {
  std::lock_guard lock(commit_mu_);
  return commits_;
}

void PgDatabase::WaitForCommit(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(commit_mu_);
  commit_cv_.wait_for(lock, timeout, [&] { return commits_ != seen; });
}

Result<void> PgDatabase::FlushWal() {
  if ((!sync_conn_->Healthy() || sync_conn_->LooksClosed()) && !sync_conn_->Reset()) {
    return Fail(ErrorCode::kUnavailable, "storage_unavailable",
                "The database is unavailable; the write may not be durable");
  }
  // A transaction that writes WAL and has a transaction id commits with a flush of the WAL up
  // to its own commit record, so of every commit before it. A transactional logical message
  // is the least WAL that does both, and touches no table.
  return sync_conn_->ExecScript(
      "BEGIN; SELECT pg_logical_emit_message(true, 'assistantd', 'flush'); COMMIT");
}

void PgDatabase::StartBatcher() {
  WriteBatcher<PgConnection>::Backend backend;
  backend.with_connection = [this](const std::function<void(PgConnection&)>& fn) {
    auto lease = Acquire();
    fn(*lease);
  };
  // Batches commit without waiting for the disk and the sync step then flushes the WAL once
  // for all of them, on a connection of its own: the writer runs the next batch meanwhile and
  // the owners' rows that a batch locks (the quota counters) are not held across a flush.
  // Units are acknowledged only after that flush, as with synchronous commits; like those of
  // SQLite's batches, a batch's rows are visible to readers from its COMMIT on.
  backend.begin = [](PgConnection& conn) {
    return conn.ExecScript(
        "BEGIN; SET LOCAL ROLE assistantd_app; SET LOCAL synchronous_commit = off");
  };
  backend.sync = [this] { return FlushWal(); };
  if (settings_.metrics) {
    auto observers = ObserveWrites(*settings_.metrics);
    backend.on_batch = std::move(observers.on_batch);
    backend.on_sync = std::move(observers.on_sync);
  }
  backend.commit = [this](PgConnection& conn) -> Result<void> {
    if (auto r = conn.ExecScript("COMMIT"); !r) return r;
    {
      std::lock_guard lock(commit_mu_);
      ++commits_;
    }
    commit_cv_.notify_all();
    return {};
  };
  backend.rollback = [](PgConnection& conn) {
    if (conn.InTransaction()) (void)conn.ExecScript("ROLLBACK");
  };
  backend.in_transaction = [](PgConnection& conn) { return conn.InTransaction(); };
  // Savepoints, queued with the units' statements: only a failure costs a round trip of its
  // own (ROLLBACK TO).
  backend.exec = [](PgConnection& conn, const char* sql) -> Result<void> {
    if (std::string_view(sql) == "ROLLBACK TO unit") return conn.ExecScript(sql);
    conn.Defer(sql, {});
    return {};
  };
  backend.flush = [](PgConnection& conn) { return conn.Flush(); };
  // Units share pipelines: a batch of creates costs a round trip per kPipelineDepth units.
  backend.statement_count = [](PgConnection& conn) { return conn.StatementsQueued(); };
  backend.failed_statement = [](PgConnection& conn) { return conn.FailedStatement(); };
  batcher_ = std::make_unique<WriteBatcher<PgConnection>>(std::move(backend), settings_.writers);
}

Result<PgResult> PgDatabase::Query(const nlohmann::json& claims, const std::string& sql,
                                   const PgParams& params, bool relaxed) {
  auto conn = Acquire();
  return conn->ExecAlone(claims, relaxed, sql, params);
}

namespace {

Result<std::vector<AppliedMigration>> ReadApplied(PgConnection& conn) {
  std::vector<AppliedMigration> applied;
  // min_reader_version arrived with migration 9; older databases lack it (and need none).
  auto shape = conn.Exec(
      "SELECT to_regclass('schema_migrations') IS NOT NULL, EXISTS (SELECT 1 FROM "
      "information_schema.columns WHERE table_schema = current_schema() AND table_name = "
      "'schema_migrations' AND column_name = 'min_reader_version')");
  if (!shape) return tl::unexpected(shape.error());
  if (shape->Text(0, 0) != "t") return applied;
  auto rows =
      conn.Exec(std::string("SELECT version, name, extract(epoch FROM applied_at)::bigint, ") +
                (shape->Text(0, 1) == "t" ? "min_reader_version" : "0") +
                " FROM schema_migrations ORDER BY version");
  if (!rows) return tl::unexpected(rows.error());
  for (int i = 0; i < rows->Rows(); ++i) {
    applied.push_back({.version = static_cast<int>(rows->Int(i, 0)),
                       .name = rows->Text(i, 1),
                       .applied_at = rows->Int(i, 2),
                       .min_reader_version = static_cast<int>(rows->Int(i, 3))});
  }
  return applied;
}

}  // namespace

std::span<const Migration> PgDatabase::KnownMigrations() const {
  return postgres_migrations::Migrations();
}

Result<std::vector<AppliedMigration>> PgDatabase::AppliedMigrations() {
  auto conn = Acquire();
  return ReadApplied(*conn);
}

Result<int> PgDatabase::Migrate() {
  auto conn = Acquire();
  if (auto r = conn->ExecScript(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
          "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
      !r) {
    return tl::unexpected(r.error());
  }
  // Several instances may start at once: one migrates, the others wait and find it done.
  if (auto r = conn->Exec("SELECT pg_advisory_lock($1)", {std::to_string(kMigrationLock)}); !r) {
    return tl::unexpected(r.error());
  }
  const auto unlock = [&] {
    (void)conn->Exec("SELECT pg_advisory_unlock($1)", {std::to_string(kMigrationLock)});
  };
  auto applied = ReadApplied(*conn);
  if (!applied) {
    unlock();
    return tl::unexpected(applied.error());
  }
  const auto status = CompareSchema(KnownMigrations(), *applied);
  if (auto ok = CheckCanRunOn(status); !ok) {
    unlock();
    return tl::unexpected(ok.error());
  }
  if (!status.newer.empty()) {
    LogEvent(logger_, spdlog::level::warn,
             "the database's schema is newer than this release's; running on it (expand/contract)",
             {{"applied_version", status.applied}, {"known_version", status.known}});
  }
  int count = 0;
  for (const Migration* m : status.pending) {
    std::string record = "\nINSERT INTO schema_migrations (version, name) VALUES (" +
                         std::to_string(m->version) + ", '" + m->name + "');";
    if (m->min_reader_version > 0) {
      record += "\nUPDATE schema_migrations SET min_reader_version = " +
                std::to_string(m->min_reader_version) +
                " WHERE version = " + std::to_string(m->version) + ";";
    }
    auto r = conn->ExecScript("BEGIN;\n" + std::string(m->sql) + record + "\nCOMMIT;");
    if (!r) {
      (void)conn->ExecScript("ROLLBACK");
      unlock();
      Error e = r.error();
      e.message = std::string("Migration ") + m->name + " failed";
      return tl::unexpected(e);
    }
    ++count;
  }
  unlock();
  return count;
}

Result<void> PgDatabase::CheckReady() {
  auto conn = Acquire();
  auto r = conn->Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!r) {
    Error e = r.error();
    if (e.code != ErrorCode::kUnavailable) {
      return Fail(ErrorCode::kUnavailable, "migrations_pending", "Database is not migrated",
                  nlohmann::json::array(), e.internal);
    }
    return tl::unexpected(e);
  }
  if (r->Int(0, 0) < LatestSchemaVersion()) {
    return Fail(ErrorCode::kUnavailable, "migrations_pending", "Database migrations are pending");
  }
  return {};
}

Result<int> PgDatabase::AppliedSchemaVersion() {
  auto conn = Acquire();
  auto r = conn->Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!r) return tl::unexpected(r.error());
  return static_cast<int>(r->Int(0, 0));
}

int PgDatabase::LatestSchemaVersion() const {
  int latest = 0;
  for (const auto& m : postgres_migrations::Migrations()) latest = std::max(latest, m.version);
  return latest;
}

}  // namespace assistantd::storage
