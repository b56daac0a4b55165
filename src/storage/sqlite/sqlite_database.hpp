#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "storage/connection_pool.hpp"
#include "storage/storage.hpp"
#include "storage/write_batcher.hpp"

namespace assistantd::storage {

// Maps a SQLite result code to an Error; SQL text and messages stay in `internal`.
Error SqliteError(sqlite3* db, int rc, std::string_view what);

// A prepared statement borrowed from a connection's cache; reset when it goes out of scope.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  void Bind(int index, std::string_view text);
  void Bind(int index, int64_t value);
  void Bind(int index, double value);
  void BindNull(int index);
  void Bind(int index, const std::optional<std::string>& text);
  void BindBlob(int index, std::string_view bytes);

  // true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion, expecting no rows.
  Result<void> Run();

  bool IsNull(int col) const;
  int Type(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  std::optional<std::string> OptionalText(int col) const;
  std::string Blob(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// The current row of a statement in the vocabulary of storage/rows.hpp.
struct SqliteRow {
  const SqliteStatement& s;
  bool IsNull(int c) const { return s.IsNull(c); }
  std::string Text(int c) const { return s.Text(c); }
  std::optional<std::string> OptionalText(int c) const { return s.OptionalText(c); }
  int64_t Int(int c) const { return s.Int(c); }
  std::optional<int64_t> OptionalInt(int c) const {
    return s.IsNull(c) ? std::nullopt : std::optional<int64_t>(s.Int(c));
  }
  std::string Bytes(int c) const { return s.Blob(c); }
  bool Bool(int c) const { return s.Int(c) != 0; }
  nlohmann::json Number(int c) const {
    return s.Type(c) == SQLITE_INTEGER ? nlohmann::json(s.Int(c)) : nlohmann::json(s.Double(c));
  }
};

class SqliteDatabase;

// One connection with its statement cache. Used by one thread at a time.
class SqliteConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection();

  Result<SqliteStatement> Prepare(const std::string& sql);
  Result<void> Exec(const std::string& sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* Raw() const { return db_; }

  // The assistant rows the open transaction changed (recorded by the change feed's
  // triggers), handed to the feed's sink once it commits and dropped if it rolls back.
  void RecordChange(std::string_view assistant_id);
  void TakeChanges(AssistantChangeSink* sink);
  void DropChanges() {
    changed_.clear();
    changed_all_ = false;
  }

 private:
  friend class SqliteDatabase;
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  const SqliteDatabase* owner_ = nullptr;
  std::vector<std::string> changed_;
  bool changed_all_ = false;  // more rows than are worth naming one by one
};

class SqliteDatabase;

// kDurable: Commit() returns once the transaction is on disk. kRelaxed: it survives a crash
// of the process but may be lost with the machine's power (for bookkeeping that is safe to
// redo).
enum class Durability { kDurable, kRelaxed };

// A write transaction (BEGIN IMMEDIATE) that rolls back unless committed. It holds the
// database's in-process writer lock, so writers queue on a mutex instead of spinning in
// SQLite's sleeping busy handler (which made write tail latency explode under load).
class SqliteTransaction {
 public:
  static Result<SqliteTransaction> Begin(SqliteDatabase& db, SqliteConnection& conn,
                                         Durability durability = Durability::kDurable);
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction();
  // Decided after the statements ran (a claim is durable only when it records a create intent).
  void SetDurability(Durability durability) { durability_ = durability; }
  Result<void> Commit();

 private:
  SqliteTransaction(SqliteDatabase* db, std::unique_lock<std::mutex> lock, SqliteConnection* conn,
                    Durability durability)
      : db_(db), lock_(std::move(lock)), conn_(conn), durability_(durability) {}
  SqliteDatabase* db_;
  std::unique_lock<std::mutex> lock_;
  SqliteConnection* conn_;
  Durability durability_;
};

// The writer lock file of the database at a path (`<path>-writer.lock`), held with flock for
// as long as this object lives: one process at a time writes assistants (serve, reconcile,
// import) or replaces the file (restore).
class SqliteWriterLock {
 public:
  // kUnavailable "database_in_use" while another process holds it.
  static Result<SqliteWriterLock> Acquire(const std::string& db_path);
  SqliteWriterLock(SqliteWriterLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  SqliteWriterLock& operator=(SqliteWriterLock&&) = delete;
  ~SqliteWriterLock();

 private:
  explicit SqliteWriterLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct SqliteSettings {
  std::string path;
  int pool_size = 4;
  int busy_timeout_ms = 5000;
  // WAL pages that call for a checkpoint (64 MiB at 4 KiB pages; see CheckpointLoop).
  int checkpoint_pages = 16000;
  MetricsRegistry* metrics = nullptr;  // the write batches' (storage/write_metrics.hpp)
  // Holds the database's writer lock file (`<path>-writer.lock`) for as long as it is open,
  // and fails kUnavailable "database_in_use" while another process holds it: a process that
  // writes assistants (serve, reconcile, import) must be the only one, since its change feed
  // sees its own commits only.
  bool exclusive = false;
};

// The SQLite database file: a pool of connections (WAL, foreign keys on, busy timeout) and
// the migration runner.
//
// Its change feed: every connection it opens records the assistant rows its transactions
// change (temporary triggers calling a function of the connection's, so other programs that
// open the file are unaffected) and hands them to the sink right after the commit, from the
// WAL hook. With `exclusive`, this process is the only writer of assistants, so a read is
// current as soon as it starts.
class SqliteDatabase final : public Database, public AssistantChangeFeed {
 public:
  static Result<std::unique_ptr<SqliteDatabase>> Open(const SqliteSettings& settings,
                                                      Logger logger);
  ~SqliteDatabase() override;

  using Lease = ConnectionPool<SqliteConnection>::Lease;
  // Borrows a connection, waiting while all are in use.
  Lease Acquire() { return pool_.Acquire(); }

  // Held by every write transaction of this process.
  std::unique_lock<std::mutex> LockWriter() { return std::unique_lock(write_mu_); }

  // Group commit: makes every transaction committed before the call durable with one fsync
  // of the WAL shared by all concurrent callers. Connections run with synchronous=NORMAL
  // (WAL frames reach the OS at commit), so this fsync is what puts them on disk.
  Result<void> SyncWal();

  // Durable writes in group commit (see WriteBatcher): `work` runs on the batch thread in a
  // savepoint of a shared transaction; `done` gets its outcome once the batch is on disk.
  void Submit(WriteBatcher<SqliteConnection>::Work work, WriteBatcher<SqliteConnection>::Done done);
  template <class T>
  void SubmitValue(std::function<Result<T>(SqliteConnection&)> work, Completion<T> done) {
    batcher_->template SubmitValue<T>(std::move(work), std::move(done));
  }
  // The same, waiting for the outcome (for callers with a thread to spare: the sync workers,
  // commands, tests). Every write should come this way: the batch writer's connection is the
  // only one whose page cache another connection's commit does not invalidate.
  Result<void> Write(WriteBatcher<SqliteConnection>::Work work);
  template <class T>
  Result<T> WriteValue(std::function<Result<T>(SqliteConnection&)> work) {
    std::promise<Result<T>> promise;
    auto future = promise.get_future();
    batcher_->template SubmitValue<T>(std::move(work),
                                      [&promise](Result<T> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  Result<int> Migrate() override;
  Result<void> CheckReady() override;
  int LatestSchemaVersion() const override { return KnownSchemaVersion(); }
  // The last migration this binary knows.
  static int KnownSchemaVersion();
  Result<int> AppliedSchemaVersion() override;
  std::span<const Migration> KnownMigrations() const override;
  Result<std::vector<AppliedMigration>> AppliedMigrations() override;
  void StopWrites() override { batcher_->Stop(); }
  // VACUUM INTO `path`: one read transaction, so writers go on meanwhile and the copy holds
  // exactly the transactions committed before it began.
  Result<void> Snapshot(const std::string& path) override;

  AssistantChangeFeed* ChangeFeed() override { return this; }
  Result<void> Start(AssistantChangeSink& sink) override;
  void AwaitCurrent(std::function<void(bool current)> ready) override { ready(true); }

 private:
  SqliteDatabase(SqliteSettings settings, Logger logger)
      : settings_(std::move(settings)), logger_(std::move(logger)) {}
  Result<std::unique_ptr<SqliteConnection>> OpenConnection() const;
  Result<std::vector<AppliedMigration>> ReadApplied(SqliteConnection& conn) const;

  SqliteSettings settings_;
  Logger logger_;
  ConnectionPool<SqliteConnection> pool_;
  std::mutex write_mu_;

  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t commit_seq_ = 0;  // durable commits registered
  uint64_t synced_seq_ = 0;  // registered commits known to be on disk
  bool sync_in_progress_ = false;
  int wal_fd_ = -1;

  // Checkpoints run on a thread of their own (never in a committing writer): the WAL hook
  // of every connection wakes it once the WAL holds kCheckpointPages pages.
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int pages);
  void CheckpointLoop();
  // Called by the batch writer before it takes the writer lock: gives the checkpoint's last
  // pass its turn, and holds writes back while the WAL is past kWalLimitFactor times the
  // threshold (writes faster than checkpoints would otherwise grow it without bound).
  void WaitForCheckpointTurn();
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;  // wakes the checkpointer
  std::condition_variable turn_cv_;        // wakes writers waiting for a checkpoint
  bool checkpoint_due_ = false;
  bool checkpoint_wants_lock_ = false;
  bool checkpointer_running_ = false;
  uint64_t checkpoints_ = 0;  // checkpoint rounds completed
  std::atomic<int> wal_pages_{0};
  bool stopping_ = false;
  std::thread checkpointer_;

  std::atomic<AssistantChangeSink*> sink_{nullptr};
  std::optional<SqliteWriterLock> writer_lock_;  // when exclusive

  std::unique_lock<std::mutex> batch_lock_;  // the writer lock while a batch is open
  // The batch writer's own connection: its page cache stays warm, as no other connection
  // writes between its batches often enough to invalidate it.
  std::unique_ptr<SqliteConnection> batch_conn_;
  std::unique_ptr<WriteBatcher<SqliteConnection>> batcher_;  // last: stops first
};

}  // namespace assistantd::storage
