#include "storage/sqlite/sqlite_database.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "common/thread_name.hpp"
#include "storage/migration.hpp"
#include "storage/write_metrics.hpp"

namespace assistantd::storage {

// Generated from migrations/sqlite/*.sql by cmake/EmbedSql.cmake.
namespace sqlite_migrations {
std::span<const Migration> Migrations();
}

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  // The extended code and errno go to the log only (a full disk is SQLITE_FULL; a write past a
  // file-size limit, EFBIG, is SQLITE_IOERR_WRITE).
  const int sys = db ? sqlite3_system_errno(db) : 0;
  std::string internal = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
                         " (code " + std::to_string(rc) + ")";
  if (sys != 0) internal += std::string(": ") + std::strerror(sys);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error{ErrorCode::kUnavailable, "database_busy", "The database is busy; retry shortly",
                   nlohmann::json::array(), internal};
    case SQLITE_FULL:
      return Error{ErrorCode::kUnavailable, "storage_full",
                   "The server's storage is full; nothing was changed", nlohmann::json::array(),
                   internal};
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Error{ErrorCode::kUnavailable, "storage_unavailable",
                   "The database is unavailable; nothing was changed", nlohmann::json::array(),
                   internal};
    case SQLITE_CONSTRAINT:
      return Error{ErrorCode::kConflict, "conflict", "The change conflicts with the current state",
                   nlohmann::json::array(), internal};
    default:
      return Error{ErrorCode::kInternal, "internal_error", "Internal server error",
                   nlohmann::json::array(), internal};
  }
}

SqliteStatement::~SqliteStatement() {
  if (!stmt_) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void SqliteStatement::Bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}
void SqliteStatement::Bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
void SqliteStatement::Bind(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
void SqliteStatement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }
void SqliteStatement::Bind(int index, const std::optional<std::string>& text) {
  if (text) {
    Bind(index, std::string_view(*text));
  } else {
    BindNull(index);
  }
}

void SqliteStatement::BindBlob(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
}

std::string SqliteStatement::Blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

Result<bool> SqliteStatement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return tl::unexpected(SqliteError(db_, sqlite3_extended_errcode(db_), "step"));
}

Result<void> SqliteStatement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
  }
}

bool SqliteStatement::IsNull(int col) const { return Type(col) == SQLITE_NULL; }
int SqliteStatement::Type(int col) const { return sqlite3_column_type(stmt_, col); }
int64_t SqliteStatement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double SqliteStatement::Double(int col) const { return sqlite3_column_double(stmt_, col); }
std::string SqliteStatement::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}
std::optional<std::string> SqliteStatement::OptionalText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<SqliteStatement> SqliteConnection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(SqliteError(db_, rc, "prepare"));
    it = cache_.emplace(sql, stmt).first;
  }
  return SqliteStatement(db_, it->second);
}

Result<void> SqliteConnection::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK)
    return tl::unexpected(SqliteError(db_, sqlite3_extended_errcode(db_), "exec"));
  return {};
}

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteDatabase& db, SqliteConnection& conn,
                                                   Durability durability) {
  auto lock = db.LockWriter();
  if (auto r = conn.Exec("BEGIN IMMEDIATE"); !r) return tl::unexpected(r.error());
  return SqliteTransaction(&db, std::move(lock), &conn, durability);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : db_(other.db_),
      lock_(std::move(other.lock_)),
      conn_(std::exchange(other.conn_, nullptr)),
      durability_(other.durability_) {}

SqliteTransaction::~SqliteTransaction() {
  if (conn_) (void)conn_->Exec("ROLLBACK");
}

Result<void> SqliteTransaction::Commit() {
  auto r = conn_->Exec("COMMIT");
  if (!r) return r;
  conn_ = nullptr;
  lock_.unlock();  // the next writer may start while we wait for the disk
  if (durability_ == Durability::kDurable) return db_->SyncWal();
  return {};
}

Result<void> SqliteDatabase::SyncWal() {
  std::unique_lock lock(sync_mu_);
  const uint64_t mine = ++commit_seq_;  // our commit's frames are already written to the WAL
  while (synced_seq_ < mine) {
    if (sync_in_progress_) {
      sync_cv_.wait(lock);
      continue;
    }
    sync_in_progress_ = true;
    const uint64_t target = commit_seq_;  // every commit registered so far is in the WAL
    if (wal_fd_ < 0) wal_fd_ = ::open((settings_.path + "-wal").c_str(), O_RDWR | O_CLOEXEC);
    const int fd = wal_fd_;
    lock.unlock();
    const int rc = fd < 0 ? -1 : ::fdatasync(fd);
    const int err = errno;
    lock.lock();
    sync_in_progress_ = false;
    sync_cv_.notify_all();
    if (rc != 0) {
      return Fail(ErrorCode::kUnavailable, "storage_unavailable",
                  "The change could not be made durable", nlohmann::json::array(),
                  std::string("fdatasync of the WAL failed: ") + std::strerror(err));
    }
    synced_seq_ = std::max(synced_seq_, target);
  }
  return {};
}

Result<SqliteWriterLock> SqliteWriterLock::Acquire(const std::string& db_path) {
  const std::string lock_path = db_path + "-writer.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable, "storage_unavailable",
                "cannot open " + lock_path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Fail(ErrorCode::kUnavailable, "database_in_use",
                "another assistantd process (serve, reconcile, import or restore) is using " +
                    db_path + "; stop it first, or do this through the running server's API");
  }
  return SqliteWriterLock(fd);
}

SqliteWriterLock::~SqliteWriterLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const SqliteSettings& settings,
                                                             Logger logger) {
  // Before SQLite's first use in the process: no memory statistics, which would otherwise
  // take a process-wide mutex on every allocation of every connection. (If SQLite is
  // already initialised the call fails harmlessly and the default stays.)
  static std::once_flag configured;
  std::call_once(configured, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(settings, std::move(logger)));
  if (settings.exclusive) {
    auto lock = SqliteWriterLock::Acquire(settings.path);
    if (!lock) return tl::unexpected(lock.error());
    db->writer_lock_.emplace(std::move(*lock));
  }
  // A new database file is created private (it holds password hashes and sealed keys); SQLite
  // gives its -wal and -shm files the same mode.
  if (settings.path != ":memory:" && !settings.path.starts_with("file:")) {
    const int fd = ::open(settings.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }
  for (int i = 0; i < std::max(1, settings.pool_size); ++i) {
    auto conn = db->OpenConnection();
    if (!conn) return tl::unexpected(conn.error());
    db->pool_.Add(std::move(*conn));
  }
  auto batch_conn = db->OpenConnection();
  if (!batch_conn) return tl::unexpected(batch_conn.error());
  db->batch_conn_ = std::move(*batch_conn);
  SqliteDatabase* self = db.get();
  WriteBatcher<SqliteConnection>::Backend backend;
  backend.with_connection = [self](const std::function<void(SqliteConnection&)>& fn) {
    fn(*self->batch_conn_);
  };
  backend.begin = [self](SqliteConnection& conn) -> Result<void> {
    self->WaitForCheckpointTurn();
    self->batch_lock_ = self->LockWriter();
    auto r = conn.Exec("BEGIN IMMEDIATE");
    if (!r) self->batch_lock_.unlock();
    return r;
  };
  backend.commit = [self](SqliteConnection& conn) -> Result<void> {
    if (auto r = conn.Exec("COMMIT"); !r) return r;
    self->batch_lock_.unlock();  // the next writer may start while we wait for the disk
    return Result<void>{};
  };
  backend.sync = [self] { return self->SyncWal(); };
  if (settings.metrics) {
    auto observers = ObserveWrites(*settings.metrics);
    backend.on_batch = std::move(observers.on_batch);
    backend.on_sync = std::move(observers.on_sync);
  }
  backend.changes = [](SqliteConnection& conn) { return sqlite3_total_changes64(conn.Raw()); };
  backend.rollback = [self](SqliteConnection& conn) {
    if (!sqlite3_get_autocommit(conn.Raw())) (void)conn.Exec("ROLLBACK");
    if (self->batch_lock_.owns_lock()) self->batch_lock_.unlock();
  };
  backend.exec = [](SqliteConnection& conn, const char* sql) { return conn.Exec(sql); };
  backend.in_transaction = [](SqliteConnection& conn) {
    return sqlite3_get_autocommit(conn.Raw()) == 0;
  };
  db->batcher_ = std::make_unique<WriteBatcher<SqliteConnection>>(std::move(backend));
  db->checkpointer_ = std::thread([self] { self->CheckpointLoop(); });
  return db;
}

// WAL pages before a checkpoint: SqliteSettings::checkpoint_pages (SQLite's own default is
// 1000). A checkpoint copies each page once however often the WAL rewrote it since the last
// one, and writes hit the same index pages again and again, so checkpointing less often
// copies far less; the WAL file stays at about this size (it starts over after each
// checkpoint).
//
// Passes beside the writers before the last, locked one (see CheckpointLoop).
constexpr int kCheckpointPasses = 6;
// The last pass, under the writer lock, once a pass had fewer frames than this to copy.
constexpr int kCheckpointLockedFrames = 64;
// Writes wait for a checkpoint once the WAL holds this many times the threshold.
constexpr int kWalLimitFactor = 4;

int SqliteDatabase::OnWalCommit(void* self, sqlite3*, const char*, int pages) {
  auto* conn = static_cast<SqliteConnection*>(self);
  auto* db = const_cast<SqliteDatabase*>(conn->owner_);
  conn->TakeChanges(db->sink_.load(std::memory_order_acquire));
  db->wal_pages_.store(pages, std::memory_order_relaxed);
  if (pages >= db->settings_.checkpoint_pages) {
    std::lock_guard lock(db->checkpoint_mu_);
    db->checkpoint_due_ = true;
    db->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteDatabase::CheckpointLoop() {
  NameThisThread("ad-checkpoint");
  auto conn = OpenConnection();
  if (!conn) {
    LogEvent(logger_, spdlog::level::err, "no connection for checkpoints",
             {{"detail", conn.error().internal}});
    return;
  }
  sqlite3_wal_hook((*conn)->Raw(), nullptr, nullptr);
  {
    std::lock_guard lock(checkpoint_mu_);
    checkpointer_running_ = true;
  }
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_due_ || stopping_; });
      if (stopping_) return;
      checkpoint_due_ = false;
    }
    // The WAL starts over only once every frame in it has been copied, which a pass running
    // beside a writer that never pauses does not achieve: the WAL would outgrow the
    // threshold and every commit would call for another checkpoint (two fsyncs each). So:
    // passes beside the writers, each copying what was appended during the one before,
    // until little is left; then a last pass that holds the writer lock for those few pages
    // and one fsync, after which the next write starts the WAL from its beginning.
    int backfilled = 0;                   // frames of the WAL copied by the passes so far
    int fresh = kCheckpointLockedFrames;  // what the latest pass found to copy
    for (int pass = 0;; ++pass) {
      const bool last = pass >= kCheckpointPasses || (pass > 0 && fresh < kCheckpointLockedFrames);
      std::unique_lock<std::mutex> writers;
      if (last) {
        // The batch writer takes the lock again as soon as it lets go: ask for a turn.
        {
          std::lock_guard lock(checkpoint_mu_);
          checkpoint_wants_lock_ = true;
        }
        writers = LockWriter();
        {
          std::lock_guard lock(checkpoint_mu_);
          checkpoint_wants_lock_ = false;
        }
        turn_cv_.notify_all();
      }
      int log = 0;
      int copied = 0;
      const int rc = sqlite3_wal_checkpoint_v2((*conn)->Raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               &log, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        LogEvent(logger_, spdlog::level::warn, "checkpoint failed",
                 {{"detail", sqlite3_errmsg((*conn)->Raw())}});
        break;
      }
      if (last) break;
      fresh = copied >= backfilled ? copied - backfilled : copied;  // the WAL may have restarted
      backfilled = copied;
    }
    {
      // Commits during the passes asked for this checkpoint again.
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_due_ = false;
      ++checkpoints_;
    }
    turn_cv_.notify_all();
  }
}

void SqliteDatabase::WaitForCheckpointTurn() {
  const bool over_limit =
      wal_pages_.load(std::memory_order_relaxed) >= kWalLimitFactor * settings_.checkpoint_pages;
  std::unique_lock lock(checkpoint_mu_);
  if (!checkpointer_running_) return;
  const uint64_t seen = checkpoints_;
  turn_cv_.wait(lock, [&] {
    return stopping_ || !checkpointer_running_ ||
           (!checkpoint_wants_lock_ && (!over_limit || checkpoints_ != seen));
  });
}

SqliteDatabase::~SqliteDatabase() {
  batcher_.reset();
  {
    std::lock_guard lock(checkpoint_mu_);
    stopping_ = true;
    checkpoint_cv_.notify_one();
  }
  if (checkpointer_.joinable()) checkpointer_.join();
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

namespace {

// More changed rows than this in one transaction (a user's deletion cascading to all their
// assistants) are reported as "anything may have changed": bounded memory per transaction.
constexpr size_t kMaxNamedChanges = 4096;

void OnAssistantChanged(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* conn = static_cast<SqliteConnection*>(sqlite3_user_data(ctx));
  if (argc == 1 && sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    conn->RecordChange(std::string_view(text, sqlite3_value_bytes(argv[0])));
  }
  sqlite3_result_null(ctx);
}

// The feed's triggers: temporary, so they live in this connection only and call a function
// only this process defines.
constexpr const char* kFeedTriggers = R"sql(
CREATE TEMP TRIGGER IF NOT EXISTS assistantd_feed_insert AFTER INSERT ON main.assistants
BEGIN SELECT assistantd_changed(new.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS assistantd_feed_update AFTER UPDATE ON main.assistants
BEGIN SELECT assistantd_changed(old.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS assistantd_feed_delete AFTER DELETE ON main.assistants
BEGIN SELECT assistantd_changed(old.id); END;
)sql";

}  // namespace

void SqliteConnection::RecordChange(std::string_view assistant_id) {
  if (changed_all_) return;
  if (changed_.size() >= kMaxNamedChanges) {
    changed_all_ = true;
    changed_.clear();
    return;
  }
  changed_.emplace_back(assistant_id);
}

void SqliteConnection::TakeChanges(AssistantChangeSink* sink) {
  if (sink) {
    if (changed_all_) {
      sink->ChangedAll();
    } else {
      for (const auto& id : changed_) sink->Changed(id);
    }
  }
  DropChanges();
}

Result<void> SqliteDatabase::Start(AssistantChangeSink& sink) {
  sink_.store(&sink);
  // Every connection that may write: the pool's (all borrowed at once, so each is a
  // different one) and the batch writer's (on its own thread, as one more unit of work).
  std::vector<Lease> leases;
  for (int i = 0; i < std::max(1, settings_.pool_size); ++i) leases.push_back(Acquire());
  for (auto& lease : leases) {
    if (auto r = lease->Exec(kFeedTriggers); !r) return r;
  }
  return Write([](SqliteConnection& conn) { return conn.Exec(kFeedTriggers); });
}

void SqliteDatabase::Submit(WriteBatcher<SqliteConnection>::Work work,
                            WriteBatcher<SqliteConnection>::Done done) {
  batcher_->Submit(std::move(work), std::move(done));
}

Result<void> SqliteDatabase::Write(WriteBatcher<SqliteConnection>::Work work) {
  return batcher_->Run(std::move(work));
}

Result<std::unique_ptr<SqliteConnection>> SqliteDatabase::OpenConnection() const {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      settings_.path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  auto conn = std::make_unique<SqliteConnection>(raw);
  if (rc != SQLITE_OK) {
    return tl::unexpected(SqliteError(raw, rc, "open " + settings_.path));
  }
  sqlite3_busy_timeout(raw, settings_.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  // synchronous=NORMAL: a commit writes its WAL frames to the OS; SqliteTransaction then
  // waits for SyncWal's shared fdatasync before a durable write is acknowledged.
  // trusted_schema=ON: the triggers that keep the name search index (an FTS5 table) in step
  // need it. The schema is only ever written by our own migrations, in a file of our own data
  // directory; the setting guards against opening database files of unknown origin.
  // temp_store=MEMORY: statement and savepoint sub-journals stay in memory instead of costing
  // a temporary file write per page touched.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL",
        "PRAGMA trusted_schema=ON", "PRAGMA temp_store=MEMORY"}) {
    if (auto r = conn->Exec(pragma); !r) return tl::unexpected(r.error());
  }
  // Replaces the auto-checkpoint, which would run inside the committing writer; also hands
  // the committed transaction's changes to the change feed's sink.
  conn->owner_ = this;
  sqlite3_wal_hook(raw, &SqliteDatabase::OnWalCommit, conn.get());
  sqlite3_rollback_hook(
      raw, [](void* c) { static_cast<SqliteConnection*>(c)->DropChanges(); }, conn.get());
  const int frc = sqlite3_create_function_v2(raw, "assistantd_changed", 1, SQLITE_UTF8, conn.get(),
                                             &OnAssistantChanged, nullptr, nullptr, nullptr);
  if (frc != SQLITE_OK) return tl::unexpected(SqliteError(raw, frc, "create function"));
  return conn;
}

Result<std::vector<AppliedMigration>> SqliteDatabase::ReadApplied(SqliteConnection& conn) const {
  std::vector<AppliedMigration> applied;
  const auto count = [&](const char* sql) -> Result<int64_t> {
    auto stmt = conn.Prepare(sql);
    if (!stmt) return tl::unexpected(stmt.error());
    if (auto row = stmt->Step(); !row) return tl::unexpected(row.error());
    return stmt->Int(0);
  };
  auto table = count(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (!table) return tl::unexpected(table.error());
  if (*table == 0) return applied;
  // min_reader_version arrived with migration 11; older databases lack it (and need none).
  auto column = count(
      "SELECT count(*) FROM pragma_table_info('schema_migrations') "
      "WHERE name = 'min_reader_version'");
  if (!column) return tl::unexpected(column.error());
  auto stmt = conn.Prepare(std::string("SELECT version, name, applied_at / 1000000, ") +
                           (*column != 0 ? "min_reader_version" : "0") +
                           " FROM schema_migrations ORDER BY version");
  if (!stmt) return tl::unexpected(stmt.error());
  for (;;) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    applied.push_back({.version = static_cast<int>(stmt->Int(0)),
                       .name = stmt->Text(1),
                       .applied_at = stmt->Int(2),
                       .min_reader_version = static_cast<int>(stmt->Int(3))});
  }
  return applied;
}

std::span<const Migration> SqliteDatabase::KnownMigrations() const {
  return sqlite_migrations::Migrations();
}

Result<std::vector<AppliedMigration>> SqliteDatabase::AppliedMigrations() {
  auto conn = Acquire();
  return ReadApplied(*conn);
}

Result<int> SqliteDatabase::Migrate() {
  auto conn = Acquire();
  if (auto r =
          conn->Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT");
      !r) {
    return tl::unexpected(r.error());
  }
  auto applied = ReadApplied(*conn);
  if (!applied) return tl::unexpected(applied.error());
  const auto status = CompareSchema(KnownMigrations(), *applied);
  if (auto ok = CheckCanRunOn(status); !ok) return tl::unexpected(ok.error());
  if (!status.newer.empty()) {
    LogEvent(logger_, spdlog::level::warn,
             "the database's schema is newer than this release's; running on it (expand/contract)",
             {{"applied_version", status.applied}, {"known_version", status.known}});
  }
  int count = 0;
  for (const Migration* m : status.pending) {
    auto tx = SqliteTransaction::Begin(*this, *conn);
    if (!tx) return tl::unexpected(tx.error());
    if (auto r = conn->Exec(m->sql); !r) {
      Error e = r.error();
      e.internal = std::string("migration ") + m->name + ": " + e.internal;
      return tl::unexpected(e);
    }
    auto ins = conn->Prepare(m->min_reader_version > 0
                                 ? "INSERT INTO schema_migrations (version, name, applied_at, "
                                   "min_reader_version) VALUES (?, ?, ?, ?)"
                                 : "INSERT INTO schema_migrations (version, name, applied_at) "
                                   "VALUES (?, ?, ?)");
    if (!ins) return tl::unexpected(ins.error());
    ins->Bind(1, int64_t{m->version});
    ins->Bind(2, std::string_view(m->name));
    ins->Bind(3, static_cast<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()));
    if (m->min_reader_version > 0) ins->Bind(4, int64_t{m->min_reader_version});
    if (auto r = ins->Run(); !r) return tl::unexpected(r.error());
    if (auto r = tx->Commit(); !r) return tl::unexpected(r.error());
    LogEvent(logger_, spdlog::level::info, "migration applied",
             {{"version", m->version}, {"name", m->name}});
    ++count;
  }
  return count;
}

Result<void> SqliteDatabase::CheckReady() {
  auto conn = Acquire();
  auto stmt = conn->Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!stmt) {
    return Fail(ErrorCode::kUnavailable, "migrations_pending", "Database is not migrated",
                nlohmann::json::array(), stmt.error().internal);
  }
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (stmt->Int(0) < LatestSchemaVersion()) {
    return Fail(ErrorCode::kUnavailable, "migrations_pending", "Database migrations are pending");
  }
  return {};
}

Result<int> SqliteDatabase::AppliedSchemaVersion() {
  auto conn = Acquire();
  auto stmt = conn->Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  return static_cast<int>(stmt->Int(0));
}

Result<void> SqliteDatabase::Snapshot(const std::string& path) {
  auto conn = Acquire();
  auto stmt = conn->Prepare("VACUUM INTO ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, std::string_view(path));
  return stmt->Run();
}

int SqliteDatabase::KnownSchemaVersion() {
  int latest = 0;
  for (const auto& m : sqlite_migrations::Migrations()) latest = std::max(latest, m.version);
  return latest;
}

}  // namespace assistantd::storage
