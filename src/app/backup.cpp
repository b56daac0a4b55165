#include "app/backup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "app/commands.hpp"
#include "audit/audit_log.hpp"
#include "common/json_util.hpp"
#include "common/sha256.hpp"
#include "common/time_format.hpp"
#include "storage/sqlite/sqlite_audit_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace assistantd::app {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kFormat = "assistantd-backup";
constexpr int kFormatVersion = 1;
constexpr size_t kChunk = 1 << 20;
constexpr size_t kMaxManifestBytes = 64 * 1024;
constexpr int64_t kRetryUs = 5 * 60 * 1'000'000LL;
// The tables whose rows a manifest counts (those present in the file; older schemas lack some).
constexpr std::array kCountedTables = {"users",         "assistants",    "vapi_keys",
                                       "sync_jobs",     "sync_attempts", "audit_log",
                                       "auth_sessions", "refresh_tokens"};

Error BackupError(const std::string& message, const std::string& internal = "") {
  return Error{ErrorCode::kUnavailable, "backup_failed", message, json::array(), internal};
}

Error BadBackup(const std::string& message) {
  return Error{ErrorCode::kInvalidInput, "invalid_backup", message, json::array(), ""};
}

std::string Errno() { return std::strerror(errno); }

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // Closes now, reporting the outcome (a deferred write error shows here).
  bool Close() { return ::close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_;
};

// Creates `path` for writing, mode 0600 whatever the umask (replacing a file left there).
Result<Fd> CreatePrivate(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.ok() || ::fchmod(fd.get(), 0600) != 0) {
    return tl::unexpected(BackupError("cannot create " + path, Errno()));
  }
  return fd;
}

Result<void> WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return tl::unexpected(BackupError("cannot write " + what, Errno()));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// fsync of the directory holding `path`, so a rename into it survives a crash.
void SyncParent(const std::string& path) {
  const auto parent = fs::path(path).parent_path();
  Fd dir(::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.ok()) (void)::fsync(dir.get());
}

void RemoveSqliteFiles(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path + suffix, ec);
}

// Size and SHA-256 of a whole file.
Result<std::pair<int64_t, std::string>> HashFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return tl::unexpected(BackupError("cannot read " + path, Errno()));
  Sha256Stream sha;
  std::vector<char> buf(kChunk);
  int64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(BackupError("cannot read " + path, Errno()));
    if (n == 0) break;
    sha.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    total += n;
  }
  return std::pair{total, sha.HexDigest()};
}

// Compresses the file at `in_path` as one gzip member onto `out`.
Result<void> Gzip(const std::string& in_path, int out, const std::string& what) {
  Fd in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.ok()) return tl::unexpected(BackupError("cannot read " + in_path, Errno()));
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return tl::unexpected(BackupError("cannot start compression"));
  }
  std::vector<unsigned char> inbuf(kChunk), outbuf(kChunk);
  Result<void> result;
  for (bool done = false; !done && result;) {
    const ssize_t n = ::read(in.get(), inbuf.data(), inbuf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = tl::unexpected(BackupError("cannot read " + in_path, Errno()));
      break;
    }
    done = n == 0;
    zs.next_in = inbuf.data();
    zs.avail_in = static_cast<uInt>(n);
    do {
      zs.next_out = outbuf.data();
      zs.avail_out = static_cast<uInt>(outbuf.size());
      deflate(&zs, done ? Z_FINISH : Z_NO_FLUSH);
      const size_t produced = outbuf.size() - zs.avail_out;
      result = WriteAll(out, {reinterpret_cast<const char*>(outbuf.data()), produced}, what);
    } while (result && zs.avail_out == 0);
  }
  deflateEnd(&zs);
  return result;
}

// Decompresses the one gzip member that follows `offset` in `in_path` into `out`, hashing
// what it writes. Anything after the member is refused.
Result<std::pair<int64_t, std::string>> Gunzip(const std::string& in_path, int64_t offset, int out,
                                               const std::string& what) {
  Fd in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.ok() || ::lseek(in.get(), offset, SEEK_SET) != offset) {
    return tl::unexpected(BadBackup("cannot read " + in_path));
  }
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) {
    return tl::unexpected(BackupError("cannot start decompression"));
  }
  std::vector<unsigned char> inbuf(kChunk), outbuf(kChunk);
  Sha256Stream sha;
  int64_t total = 0;
  bool ended = false;
  Result<void> result;
  while (result) {
    const ssize_t n = ::read(in.get(), inbuf.data(), inbuf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = tl::unexpected(BadBackup("cannot read " + in_path));
      break;
    }
    if (n == 0) break;
    if (ended) {
      result = tl::unexpected(BadBackup("the backup has data after its compressed payload"));
      break;
    }
    zs.next_in = inbuf.data();
    zs.avail_in = static_cast<uInt>(n);
    while (result && zs.avail_in > 0 && !ended) {
      zs.next_out = outbuf.data();
      zs.avail_out = static_cast<uInt>(outbuf.size());
      const int rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        result = tl::unexpected(BadBackup("the backup's payload is damaged (gzip)"));
        break;
      }
      const size_t produced = outbuf.size() - zs.avail_out;
      sha.Update({reinterpret_cast<const char*>(outbuf.data()), produced});
      total += static_cast<int64_t>(produced);
      result = WriteAll(out, {reinterpret_cast<const char*>(outbuf.data()), produced}, what);
      ended = rc == Z_STREAM_END;
      if (rc == Z_BUF_ERROR && produced == 0) break;
    }
    if (ended && zs.avail_in > 0) {
      result = tl::unexpected(BadBackup("the backup has data after its compressed payload"));
    }
  }
  inflateEnd(&zs);
  if (!result) return tl::unexpected(result.error());
  if (!ended) return tl::unexpected(BadBackup("the backup is truncated (gzip stream unfinished)"));
  return std::pair{total, sha.HexDigest()};
}

// The manifest line of a backup and the offset of its payload.
Result<std::pair<json, int64_t>> ReadManifestLine(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return tl::unexpected(BadBackup("cannot open " + path + ": " + Errno()));
  std::string head(kMaxManifestBytes, '\0');
  size_t have = 0;
  while (have < head.size()) {
    const ssize_t n = ::read(fd.get(), head.data() + have, head.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<size_t>(n);
  }
  head.resize(have);
  const size_t newline = head.find('\n');
  if (newline == std::string::npos) {
    return tl::unexpected(BadBackup(path + " is not an assistantd backup (no manifest line)"));
  }
  auto manifest = ParseJsonStrict(head.substr(0, newline));
  if (!manifest || !manifest->is_object() || StringOr(*manifest, "format") != kFormat) {
    return tl::unexpected(BadBackup(path + " is not an assistantd backup"));
  }
  if (manifest->value("version", json()) != kFormatVersion) {
    return tl::unexpected(BadBackup("backup format version " +
                                    manifest->value("version", json()).dump() +
                                    " is not one this binary reads (1)"));
  }
  const auto& payload = manifest->value("payload", json::object());
  if (!manifest->value("schemaVersion", json()).is_number_integer() || !payload.is_object() ||
      StringOr(payload, "encoding") != "gzip" ||
      !payload.value("bytes", json()).is_number_integer() ||
      StringOr(payload, "sha256").size() != 64 || !manifest->value("counts", json()).is_object() ||
      !manifest->value("audit", json()).is_object()) {
    return tl::unexpected(BadBackup("the backup's manifest is incomplete"));
  }
  return std::pair{std::move(*manifest), static_cast<int64_t>(newline + 1)};
}

Result<int64_t> CountRows(storage::SqliteConnection& conn, const std::string& table) {
  auto stmt = conn.Prepare("SELECT COUNT(*) FROM " + table);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  return stmt->Int(0);
}

Result<void> MarkOpenCreatesAmbiguous(const std::string& path, int64_t now_us) {
  storage::SqliteSettings settings;
  settings.path = path;
  settings.pool_size = 1;
  auto db = storage::SqliteDatabase::Open(settings, std::make_shared<spdlog::logger>("restore"));
  if (!db) return tl::unexpected(db.error());
  return (*db)->Write([now_us](storage::SqliteConnection& conn) -> Result<void> {
    auto stmt = conn.Prepare(
        "UPDATE sync_jobs SET create_sent_at = COALESCE(create_sent_at, ?) "
        "WHERE state IN ('queued', 'running') AND vapi_id IS NULL AND EXISTS (SELECT 1 FROM "
        "assistants a WHERE a.id = sync_jobs.assistant_id AND a.vapi_id IS NULL)");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, now_us);
    return stmt->Run();
  });
}

std::string CompactStamp(int64_t now_us) {
  // 2026-12-04T09:30:00.123456Z → 20261204T093000Z
  std::string out;
  for (const char ch : FormatTimestamp(now_us).substr(0, 19)) {
    if (ch != '-' && ch != ':') out += ch;
  }
  return out + "Z";
}

}  // namespace

Result<json> InspectSqliteFile(const std::string& path) {
  // Its own connections, no writer lock and no migrations: the file is read as it is.
  storage::SqliteSettings settings;
  settings.path = path;
  settings.pool_size = 1;
  auto db = storage::SqliteDatabase::Open(settings, std::make_shared<spdlog::logger>("inspect"));
  if (!db) return tl::unexpected(db.error());
  json counts = json::object();
  {
    auto conn = (*db)->Acquire();
    auto check = conn->Prepare("PRAGMA integrity_check");
    if (!check) return tl::unexpected(BadBackup("the database file cannot be read"));
    auto row = check->Step();
    if (!row || !*row || check->Text(0) != "ok") {
      return tl::unexpected(BadBackup("the database fails SQLite's integrity check" +
                                      (row && *row ? ": " + check->Text(0) : std::string())));
    }
    auto tables = conn->Prepare("SELECT name FROM sqlite_master WHERE type = 'table'");
    if (!tables) return tl::unexpected(tables.error());
    std::vector<std::string> present;
    for (;;) {
      auto t = tables->Step();
      if (!t) return tl::unexpected(t.error());
      if (!*t) break;
      present.push_back(tables->Text(0));
    }
    for (const char* table : kCountedTables) {
      if (std::find(present.begin(), present.end(), table) == present.end()) continue;
      auto n = CountRows(*conn, table);
      if (!n) return tl::unexpected(n.error());
      counts[table] = *n;
    }
  }
  auto schema = (*db)->AppliedSchemaVersion();
  if (!schema) return tl::unexpected(BadBackup("the database has no schema version"));
  storage::SqliteAuditStore audit_store(**db);
  auto report = audit::VerifyChain(audit_store);
  if (!report) return tl::unexpected(report.error());
  if (!report->ok) {
    return tl::unexpected(BadBackup("the audit chain is broken at entry " +
                                    std::to_string(report->first_bad_seq) + ": " +
                                    report->problem));
  }
  return json{{"schemaVersion", *schema},
              {"counts", std::move(counts)},
              {"audit", {{"entries", report->entries}, {"headHash", report->head_hash}}}};
}

Result<json> WriteBackup(storage::Database& db, const std::string& output, const Clock& clock) {
  const bool to_stdout = output == "-";
  const std::string base =
      to_stdout ? (fs::temp_directory_path() / ("assistantd-backup-" + std::to_string(::getpid())))
                      .string()
                : output;
  const std::string snapshot = base + ".snapshot";
  RemoveSqliteFiles(snapshot);
  // VACUUM INTO fills an empty file it finds: created first, so it is private from the start.
  {
    auto fd = CreatePrivate(snapshot);
    if (!fd) return tl::unexpected(fd.error());
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() { RemoveSqliteFiles(path); }
  } cleanup{snapshot};
  const int64_t started_us = clock.NowMicros();
  if (auto r = db.Snapshot(snapshot); !r) return tl::unexpected(r.error());
  auto inspected = InspectSqliteFile(snapshot);
  if (!inspected) return tl::unexpected(inspected.error());
  auto hashed = HashFile(snapshot);
  if (!hashed) return tl::unexpected(hashed.error());
  json manifest = {
      {"format", kFormat},
      {"version", kFormatVersion},
      {"backend", "sqlite"},
      {"createdAt", FormatTimestamp(started_us)},
      {"assistantdVersion", kVersion},
      {"schemaVersion", (*inspected)["schemaVersion"]},
      {"counts", (*inspected)["counts"]},
      {"audit", (*inspected)["audit"]},
      {"payload", {{"encoding", "gzip"}, {"bytes", hashed->first}, {"sha256", hashed->second}}}};
  const std::string line = manifest.dump() + "\n";
  if (to_stdout) {
    if (auto r = WriteAll(STDOUT_FILENO, line, "standard output"); !r) {
      return tl::unexpected(r.error());
    }
    if (auto r = Gzip(snapshot, STDOUT_FILENO, "standard output"); !r) {
      return tl::unexpected(r.error());
    }
    return manifest;
  }
  const std::string partial = output + ".partial";
  auto out = CreatePrivate(partial);
  if (!out) return tl::unexpected(out.error());
  auto written = WriteAll(out->get(), line, partial);
  if (written) written = Gzip(snapshot, out->get(), partial);
  if (written && ::fsync(out->get()) != 0) {
    written = tl::unexpected(BackupError("cannot sync " + partial, Errno()));
  }
  if (written && !out->Close()) {
    written = tl::unexpected(BackupError("cannot write " + partial, Errno()));
  }
  std::error_code ec;
  if (written) fs::rename(partial, output, ec);
  if (!written || ec) {
    fs::remove(partial, ec);
    return written ? tl::unexpected(BackupError("cannot rename " + partial, ec.message()))
                   : tl::unexpected(written.error());
  }
  SyncParent(output);
  return manifest;
}

Result<json> ReadBackupManifest(const std::string& path) {
  auto m = ReadManifestLine(path);
  if (!m) return tl::unexpected(m.error());
  return std::move(m->first);
}

Result<json> RestoreSqliteBackup(const std::string& file, const std::string& db_path,
                                 int latest_schema, const Clock& clock, bool replace) {
  auto head = ReadManifestLine(file);
  if (!head) return tl::unexpected(head.error());
  const json& manifest = head->first;
  if (StringOr(manifest, "backend") != "sqlite") {
    return tl::unexpected(BadBackup("this is a backup of a " + StringOr(manifest, "backend") +
                                    " database; it restores into that backend only"));
  }
  const int schema = manifest["schemaVersion"].get<int>();
  if (schema > latest_schema) {
    return tl::unexpected(BadBackup(
        "the backup's schema version " + std::to_string(schema) + " is newer than this binary's (" +
        std::to_string(latest_schema) + "): restore it with the release that took it, or newer"));
  }
  std::error_code ec;
  const auto parent = fs::path(db_path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  // No server, reconcile or import may use the database meanwhile.
  std::optional<storage::SqliteWriterLock> lock;
  if (replace) {
    auto acquired = storage::SqliteWriterLock::Acquire(db_path);
    if (!acquired) return tl::unexpected(acquired.error());
    lock.emplace(std::move(*acquired));
  }
  const std::string restoring =
      db_path + (replace ? ".restoring" : ".restore-check-" + std::to_string(::getpid()));
  RemoveSqliteFiles(restoring);
  struct Cleanup {
    std::string path;
    bool keep = false;
    ~Cleanup() {
      if (!keep) RemoveSqliteFiles(path);
    }
  } cleanup{restoring};
  {
    auto out = CreatePrivate(restoring);
    if (!out) return tl::unexpected(out.error());
    auto unpacked = Gunzip(file, head->second, out->get(), restoring);
    if (!unpacked) return tl::unexpected(unpacked.error());
    const auto& payload = manifest["payload"];
    if (unpacked->first != payload["bytes"].get<int64_t>() ||
        unpacked->second != payload["sha256"].get<std::string>()) {
      return tl::unexpected(
          BadBackup("the backup's payload does not match its checksum: the file is damaged"));
    }
    if (::fsync(out->get()) != 0 || !out->Close()) {
      return tl::unexpected(BackupError("cannot write " + restoring, Errno()));
    }
  }
  auto inspected = InspectSqliteFile(restoring);
  if (!inspected) return tl::unexpected(inspected.error());
  for (const char* key : {"schemaVersion", "counts", "audit"}) {
    if ((*inspected)[key] != manifest[key]) {
      return tl::unexpected(BadBackup(std::string("the restored database's ") + key +
                                      " differ from the manifest's: " + (*inspected)[key].dump()));
    }
  }
  if (!replace) {
    return json{{"verified", file},
                {"backupCreatedAt", manifest.value("createdAt", json())},
                {"schemaVersion", schema},
                {"counts", manifest["counts"]},
                {"audit", manifest["audit"]}};
  }
  // A create still open in the backup may have reached Vapi after the snapshot was taken:
  // marked as sent, so the sync worker searches Vapi for the copy before creating one, and
  // nothing is created twice.
  if (auto marked = MarkOpenCreatesAmbiguous(restoring, clock.NowMicros()); !marked) {
    return tl::unexpected(marked.error());
  }
  // The database being replaced: its WAL folded in (closing the last connection does that),
  // then kept under a second name, so replacing it is one rename.
  std::optional<std::string> previous;
  if (fs::exists(db_path)) {
    sqlite3* old = nullptr;
    int rc = sqlite3_open_v2(db_path.c_str(), &old, SQLITE_OPEN_READWRITE, nullptr);
    if (rc == SQLITE_OK)
      rc = sqlite3_exec(old, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    sqlite3_close_v2(old);
    if (rc != SQLITE_OK) {
      return tl::unexpected(BackupError("cannot fold the current database's WAL into it; move " +
                                        db_path +
                                        " and its -wal file away by hand, then restore again"));
    }
    if (fs::exists(db_path + "-wal") && fs::file_size(db_path + "-wal", ec) > 0) {
      return tl::unexpected(BackupError("the current database's WAL is still in use"));
    }
    previous = db_path + ".pre-restore-" + CompactStamp(clock.NowMicros());
    if (::link(db_path.c_str(), previous->c_str()) != 0) {
      return tl::unexpected(
          BackupError("cannot keep the current database as " + *previous, Errno()));
    }
    fs::remove(db_path + "-wal", ec);
    fs::remove(db_path + "-shm", ec);
  }
  if (::rename(restoring.c_str(), db_path.c_str()) != 0) {
    return tl::unexpected(BackupError("cannot move the restored database into place", Errno()));
  }
  cleanup.keep = true;
  SyncParent(db_path);
  return json{{"restored", db_path},
              {"previous", previous ? json(*previous) : json(nullptr)},
              {"backupCreatedAt", manifest.value("createdAt", json())},
              {"schemaVersion", schema},
              {"counts", manifest["counts"]},
              {"audit", manifest["audit"]}};
}

namespace {

// The newest assistantd-<time>.backup in `dir` (its modification time; 0: none). Backups
// taken with `assistantd backup` into the same directory (a cron job) count too.
int64_t NewestBackupUs(const std::string& dir) {
  int64_t newest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("assistantd-") || !name.ends_with(".backup")) continue;
    const auto mtime = fs::last_write_time(entry.path(), ec);
    if (ec) continue;
    const auto sys = std::chrono::file_clock::to_sys(mtime);
    newest = std::max<int64_t>(
        newest,
        std::chrono::duration_cast<std::chrono::microseconds>(sys.time_since_epoch()).count());
  }
  return newest;
}

}  // namespace

int64_t BackupScheduler::LastSuccessUs() const {
  return std::max(last_success_us_.load(), NewestBackupUs(settings_.dir));
}

BackupScheduler::BackupScheduler(Settings settings, storage::Database& db, const Clock& clock,
                                 Logger logger, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      db_(db),
      clock_(clock),
      logger_(std::move(logger)),
      ok_((metrics.DeclareCounter("assistantd_backups_total", "Backups taken, by outcome"),
           metrics.Counter("assistantd_backups_total", {{"outcome", "ok"}}))),
      failed_(metrics.Counter("assistantd_backups_total", {{"outcome", "failed"}})) {
  last_success_us_ = NewestBackupUs(settings_.dir);
  metrics.DeclareGauge("assistantd_backup_last_success_timestamp_seconds",
                       "When the last backup completed (Unix time; 0: never)",
                       [this] { return static_cast<double>(LastSuccessUs()) / 1e6; });
  metrics.DeclareGauge("assistantd_backup_age_seconds",
                       "Seconds since the last backup completed (since the epoch: never)", [this] {
                         return static_cast<double>(clock_.NowMicros() - LastSuccessUs()) / 1e6;
                       });
  metrics.DeclareGauge("assistantd_backup_last_duration_seconds",
                       "How long the last successful backup took",
                       [this] { return static_cast<double>(last_duration_us_.load()) / 1e6; });
  metrics.DeclareGauge("assistantd_backup_last_size_bytes",
                       "Size of the last successful backup file",
                       [this] { return static_cast<double>(last_bytes_.load()); });
}

Result<json> BackupScheduler::RunOnce() {
  std::lock_guard run(run_mu_);
  std::error_code ec;
  if (fs::create_directories(settings_.dir, ec)) {
    fs::permissions(settings_.dir, fs::perms::owner_all, ec);  // new: for the owner only
  }
  const int64_t started = clock_.NowMicros();
  const std::string name = "assistantd-" + CompactStamp(started) + ".backup";
  const std::string path = (fs::path(settings_.dir) / name).string();
  auto manifest = WriteBackup(db_, path, clock_);
  if (!manifest) {
    failed_.Inc();
    LogEvent(logger_, spdlog::level::err, "backup failed",
             {{"error", manifest.error().message}, {"detail", manifest.error().internal}});
    return manifest;
  }
  const int64_t finished = clock_.NowMicros();
  last_duration_us_ = finished - started;
  last_bytes_ = static_cast<int64_t>(fs::file_size(path, ec));
  last_success_us_ = finished;
  ok_.Inc();
  LogEvent(logger_, spdlog::level::info, "backup written",
           {{"file", path},
            {"bytes", last_bytes_.load()},
            {"ms", (finished - started) / 1000},
            {"counts", (*manifest)["counts"]}});
  Prune();
  return json{{"file", path}, {"manifest", *manifest}};
}

void BackupScheduler::Prune() {
  std::vector<fs::path> backups;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(settings_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("assistantd-") && name.ends_with(".backup")) backups.push_back(entry);
  }
  // Names carry the UTC time: sorted by name is sorted by age.
  std::sort(backups.begin(), backups.end());
  const size_t keep = static_cast<size_t>(std::max(1, settings_.keep));
  for (size_t i = 0; i + keep < backups.size(); ++i) {
    fs::remove(backups[i], ec);
    LogEvent(logger_, spdlog::level::info, "old backup removed",
             {{"file", backups[i].string()}, {"keep", keep}});
  }
}

void BackupScheduler::Start() {
  if (settings_.interval_seconds <= 0) return;
  const int64_t interval_us = settings_.interval_seconds * 1'000'000;
  task_.Start(last_success_us_.load() + interval_us - clock_.NowMicros());
}

int64_t BackupScheduler::RunAndNextDelay() {
  const int64_t interval_us = settings_.interval_seconds * 1'000'000;
  // A failed backup is tried again sooner (the disk may have been full for a moment).
  return RunOnce() ? interval_us : std::min<int64_t>(interval_us, kRetryUs);
}

void BackupScheduler::Stop() { task_.Stop(); }

}  // namespace assistantd::app
