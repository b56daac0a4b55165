#pragma once

// Backups of the SQLite database, taken while the server runs and writes, and their restore.
//
// A backup is one file: a first line of JSON, the manifest, then the database snapshot
// compressed with gzip. The manifest says what the snapshot holds and how to check it:
//
//   {"format":"assistantd-backup","version":1,"backend":"sqlite","createdAt":"…",
//    "assistantdVersion":"0.1.0","schemaVersion":10,
//    "counts":{"users":2,"assistants":40,…},"audit":{"entries":52,"headHash":"…"},
//    "payload":{"encoding":"gzip","bytes":413696,"sha256":"…"}}
//
// (`bytes` and `sha256` are the uncompressed database file's.) `head -1 FILE` shows it.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/periodic_task.hpp"
#include "storage/storage.hpp"

namespace assistantd::app {

// Checks a SQLite database file as a backup or a restore needs it: SQLite's integrity check,
// the schema version, row counts of the tables that hold data, and the audit chain (verified
// end to end). Returns {"schemaVersion", "counts", "audit": {"entries", "headHash"}}; an
// error when the file is damaged or its audit chain is broken.
Result<nlohmann::json> InspectSqliteFile(const std::string& path);

// Takes a backup of `db` into `output` ("-": standard output): a snapshot (Database::Snapshot)
// next to the output, inspected, then written compressed behind its manifest into
// `output`.partial, synced and renamed, so `output` is either complete or absent. Files are
// created 0600: a backup holds password hashes and sealed keys. Returns the manifest.
Result<nlohmann::json> WriteBackup(storage::Database& db, const std::string& output,
                                   const Clock& clock);

// The manifest of the backup file at `path`, checked for format and version.
Result<nlohmann::json> ReadBackupManifest(const std::string& path);

// Restores the backup at `file` as the SQLite database at `db_path`, which no process may be
// using (the writer lock is held throughout). Everything is checked before anything is
// replaced: the manifest (format, backend, a schema no newer than `latest_schema`), the
// payload's size and checksum, then the restored file itself (InspectSqliteFile, its counts
// and audit head against the manifest's). The database that was there is kept beside it as
// `<db_path>.pre-restore-<time>`; the new file replaces it with one rename, so a crash at any
// point leaves either the old database or the new one. Returns what was restored.
// With `replace` false, only the checks run (in a scratch file beside `db_path`, without the
// writer lock, so a running server's backups can be verified) and nothing is replaced.
Result<nlohmann::json> RestoreSqliteBackup(const std::string& file, const std::string& db_path,
                                           int latest_schema, const Clock& clock,
                                           bool replace = true);

// Scheduled backups inside `serve` (--backup-interval, --backup-dir, --backup-keep): one
// every interval on a thread of its own, named assistantd-<UTC time>.backup, the newest
// `keep` kept. The first is due one interval after the newest backup already in the
// directory (now, when there is none). Metrics: assistantd_backups_total{outcome},
// assistantd_backup_last_success_timestamp_seconds, assistantd_backup_age_seconds,
// assistantd_backup_last_duration_seconds, assistantd_backup_last_size_bytes.
class BackupScheduler {
 public:
  struct Settings {
    std::string dir;
    int64_t interval_seconds = 0;  // 0: no scheduled backups (metrics are still declared)
    int keep = 7;
  };
  BackupScheduler(Settings settings, storage::Database& db, const Clock& clock, Logger logger,
                  MetricsRegistry& metrics);
  ~BackupScheduler() { Stop(); }
  BackupScheduler(const BackupScheduler&) = delete;
  BackupScheduler& operator=(const BackupScheduler&) = delete;

  void Start();
  void Stop();
  // Takes one backup into the directory now and prunes; returns its manifest and file name.
  Result<nlohmann::json> RunOnce();

 private:
  int64_t RunAndNextDelay();
  // The last success here, or the newest backup file in the directory, whichever is newer.
  int64_t LastSuccessUs() const;
  void Prune();

  Settings settings_;
  storage::Database& db_;
  const Clock& clock_;
  Logger logger_;
  MetricCounter& ok_;
  MetricCounter& failed_;
  std::mutex run_mu_;  // one backup at a time
  std::atomic<int64_t> last_success_us_{0};
  std::atomic<int64_t> last_duration_us_{0};
  std::atomic<int64_t> last_bytes_{0};
  PeriodicTask task_{"ad-backup", [this] { return RunAndNextDelay(); }};
};

}  // namespace assistantd::app
