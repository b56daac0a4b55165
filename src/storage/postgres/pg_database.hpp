#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "storage/connection_pool.hpp"
#include "storage/postgres/pg_change_feed.hpp"
#include "storage/storage.hpp"
#include "storage/write_batcher.hpp"

namespace assistantd::storage {

// Statement parameters in PostgreSQL's text format; nullopt is NULL.
using PgParams = std::vector<std::optional<std::string>>;

// bytea in the text format's hex form ("\x…").
std::string PgBytea(std::string_view bytes);

// The rows of one statement (text format). Owns the PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}
  int Rows() const { return PQntuples(result_.get()); }
  int Columns() const { return PQnfields(result_.get()); }
  int64_t Affected() const;
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;
  std::optional<std::string> OptionalText(int row, int col) const;
  int64_t Int(int row, int col) const;
  std::optional<int64_t> OptionalInt(int row, int col) const;
  bool Bool(int row, int col) const;
  std::string Bytes(int row, int col) const;  // a bytea column, decoded

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// One row of a result in the vocabulary of storage/rows.hpp.
struct PgRow {
  const PgResult& r;
  int row;
  bool IsNull(int c) const { return r.IsNull(row, c); }
  std::string Text(int c) const { return r.Text(row, c); }
  std::optional<std::string> OptionalText(int c) const { return r.OptionalText(row, c); }
  int64_t Int(int c) const { return r.Int(row, c); }
  std::optional<int64_t> OptionalInt(int c) const { return r.OptionalInt(row, c); }
  std::string Bytes(int c) const { return r.Bytes(row, c); }
  bool Bool(int c) const { return r.Bool(row, c); }
  // numeric columns come as their text; a discarded value if it is not a number.
  nlohmann::json Number(int c) const {
    auto n = nlohmann::json::parse(r.Text(row, c), nullptr, /*allow_exceptions=*/false);
    return n.is_number() ? n : nlohmann::json(nlohmann::json::value_t::discarded);
  }
};

// The outcome of a statement whose rows nobody reads.
inline Result<void> WithoutRows(const Result<PgResult>& r) {
  if (!r) return tl::unexpected(r.error());
  return {};
}

// Maps a failed statement (or a lost connection) to an Error; SQL and server messages stay in
// `internal`.
Error PgError(PGconn* conn, const PGresult* result, std::string_view what);

// Sends the server's notices on `conn` (NOTICE, WARNING…) to `logger` as JSON log lines
// instead of libpq's default, stderr: WARNING as warn, the rest as debug. `logger` must
// outlive the connection.
void RouteNotices(PGconn* conn, const Logger* logger);

// One connection with its prepared statements. Used by one thread at a time.
class PgConnection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // Runs one statement, prepared on first use and reused after. Deferred statements go first,
  // in the same round trip; if one of them fails, its error is the result.
  Result<PgResult> Exec(const std::string& sql, const PgParams& params = {});
  // Queues a statement whose result nobody reads, to be sent with the next Exec, Flush or
  // script: writes cost no round trip of their own.
  void Defer(std::string sql, PgParams params);
  // Sends what is deferred; the first failure among it, if any.
  Result<void> Flush();
  // Runs a script of several statements (migrations, transaction control).
  Result<void> ExecScript(const std::string& sql);
  // Statements queued or run by Exec and Defer so far, numbered from 0: a count that tells
  // which of several writers sharing one pipeline a failed statement belonged to.
  uint64_t StatementsQueued() const { return queued_; }
  // The number of the statement whose failure the last Exec or Flush reported (none if it
  // succeeded, or failed otherwise: a lost connection).
  std::optional<uint64_t> FailedStatement() const { return failed_; }

  // One statement in its own transaction as assistantd_app with `claims`, sent with BEGIN,
  // the role, the claims and COMMIT in one pipeline: a single round trip to the server.
  Result<PgResult> ExecAlone(const nlohmann::json& claims, bool relaxed, const std::string& sql,
                             const PgParams& params);

  // `text` as a quoted SQL literal, escaped for this connection.
  std::string Literal(std::string_view text) const;

  // Sets the JWT claims the row-level security policies see, for the rest of the transaction
  // (no round trip when they are already the transaction's claims).
  Result<void> SetClaims(const nlohmann::json& claims);
  // Inside a transaction (also one whose last statement failed: a savepoint can recover it).
  bool InTransaction() const {
    const auto s = PQtransactionStatus(conn_);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
  }

  bool Healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
  // Whether the server closed this idle connection (checked without blocking).
  bool LooksClosed();
  // Reconnects after the server went away; prepared statements are forgotten.
  bool Reset();

 private:
  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql → statement name
  struct Statement {
    std::string sql;
    PgParams params;
    uint64_t number = 0;
  };
  // Sends `deferred_` and then `last` (if any) in one pipeline; `last`'s result, or the first
  // failure.
  Result<std::optional<PgResult>> Pipeline(const Statement* last);

  std::string claims_;  // set in the current transaction by SetClaims; empty: unknown
  std::vector<Statement> deferred_;
  uint64_t queued_ = 0;
  std::optional<uint64_t> failed_;
};

struct PgSettings {
  std::string url;  // postgres://…
  int pool_size = 8;
  // Connections that run batches of durable writes at the same time. One: batches then grow
  // with the load, where several writers mostly waited for each other's row locks (the
  // owner's counter row under a quota) until commit (measured: 736 creates/s with one,
  // 247/s with three, for one user at 32 connections).
  int writers = 1;
  MetricsRegistry* metrics = nullptr;  // the write batches' (storage/write_metrics.hpp)
};

class PgDatabase;

// A transaction as the application role (`assistantd_app`: owns nothing, cannot bypass
// row-level security) with the request's JWT claims in `request.jwt.claims`, so the policies
// apply on top of the service's own checks. Rolls back unless committed.
class PgTransaction {
 public:
  // `relaxed`: bookkeeping that is safe to redo commits without waiting for the WAL flush
  // (synchronous_commit off; still crash-consistent). SetDurable() turns that back on.
  static Result<PgTransaction> Begin(PgConnection& conn, const nlohmann::json& claims,
                                     bool relaxed = false);
  Result<void> SetDurable();
  PgTransaction(PgTransaction&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  PgTransaction& operator=(PgTransaction&&) = delete;
  ~PgTransaction();
  Result<void> Commit();

 private:
  explicit PgTransaction(PgConnection* conn) : conn_(conn) {}
  PgConnection* conn_;
};

// Runs `attempt` again, up to three times in all, while it fails with a deadlock or a
// serialization failure (database_busy): PostgreSQL rolled that transaction back, so running
// the whole of it again is safe.
template <class F>
auto RetryTransient(F&& attempt) -> decltype(attempt()) {
  for (int tries = 1;; ++tries) {
    auto r = attempt();
    if (r || tries == 3 || r.error().reason != "database_busy") return r;
  }
}

// The claims a store runs with: a user's (sub + role) or the service's own (service_role).
nlohmann::json UserClaims(const std::string& user_id, std::string_view role);
nlohmann::json ServiceClaims();

// The PostgreSQL database: a pool of connections that reconnect by themselves, and the
// migration runner.
class PgDatabase final : public Database {
 public:
  // Connects the whole pool; an unreachable server is one clear error.
  static Result<std::unique_ptr<PgDatabase>> Open(const PgSettings& settings, Logger logger);
  ~PgDatabase() override;

  using Lease = ConnectionPool<PgConnection>::Lease;
  // Borrows a connection (waiting while all are in use), reconnecting it if the server
  // restarted since it was last used.
  Lease Acquire() { return pool_.Acquire(); }

  // One statement in its own transaction with `claims` (see PgTransaction); its rows.
  Result<PgResult> Query(const nlohmann::json& claims, const std::string& sql,
                         const PgParams& params = {}, bool relaxed = false);

  // Durable writes in group commit (see WriteBatcher): `work` runs in a savepoint of a
  // transaction shared with other writes, as assistantd_app, and must set its own claims
  // (PgConnection::SetClaims); `done` gets its outcome once the batch committed.
  template <class T>
  void SubmitValue(std::function<Result<T>(PgConnection&)> work, Completion<T> done) {
    batcher_->template SubmitValue<T>(std::move(work), std::move(done));
  }
  template <class T>
  Result<T> Write(std::function<Result<T>(PgConnection&)> work) {
    return AwaitWrite<T>([&](auto done) { SubmitValue<T>(std::move(work), std::move(done)); });
  }
  // Batch commits so far, and a wait for the next one (the audit sealer's signal).
  uint64_t CommitGeneration();
  void WaitForCommit(uint64_t seen, std::chrono::milliseconds timeout);

  Result<int> Migrate() override;
  Result<void> CheckReady() override;
  int LatestSchemaVersion() const override;
  Result<int> AppliedSchemaVersion() override;
  std::span<const Migration> KnownMigrations() const override;
  Result<std::vector<AppliedMigration>> AppliedMigrations() override;
  void StopWrites() override { batcher_->Stop(); }

  // The LISTEN/NOTIFY feed of changes to assistants (see PgChangeFeed); its connection is
  // opened when it starts.
  AssistantChangeFeed* ChangeFeed() override { return &feed_; }

 private:
  PgDatabase(PgSettings settings, Logger logger)
      : settings_(std::move(settings)), logger_(std::move(logger)), feed_(settings_.url, logger_) {}
  void StartBatcher();
  Result<std::unique_ptr<PgConnection>> Connect() const;
  // Makes every batch committed before the call durable (the batcher's sync step).
  Result<void> FlushWal();

  PgSettings settings_;
  Logger logger_;
  ConnectionPool<PgConnection> pool_;
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  uint64_t commits_ = 0;
  PgChangeFeed feed_;
  std::unique_ptr<PgConnection> sync_conn_;  // the sync step's own: only its thread uses it
  std::unique_ptr<WriteBatcher<PgConnection>> batcher_;  // last: stops first
};

}  // namespace assistantd::storage
