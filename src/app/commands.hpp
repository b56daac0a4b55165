#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace assistantd::app {

inline constexpr const char* kVersion = "0.1.0";

// One clear line "assistantd: …" on stderr; returns the exit code 1.
int Die(const std::string& message);
int Die(const Error& error);

// Each returns the process exit code; failures print one clear line to stderr.
int RunServe(const config::ServeConfig& config);
// Prints what --profile (production when none is given) finds unsafe in serve's settings;
// exit 1 when a production server would refuse to start.
int RunCheckConfig(const config::ServeConfig& config);
// `status_only`: print how the schema stands (JSON) instead of migrating; the exit code
// says whether this release can run on it (docs/deploy.md, Upgrades).
int RunMigrate(const config::ServeConfig& config, bool status_only);
// JSON lines to `output` ("-": standard output) / from `input` (a file: it is read twice).
int RunExport(const config::ServeConfig& config, const std::string& output);
int RunImport(const config::ServeConfig& config, const std::string& input);

// A backup of the SQLite database to `output` (empty: into the backup directory; "-":
// standard output); prints the manifest. Safe while `serve` runs.
int RunBackup(const config::ServeConfig& config, const std::string& output);
// Restores `file` over the SQLite database (RestoreSqliteBackup); with `check_only`, verifies
// it in a scratch file and replaces nothing. Prints what was (or would be) restored.
int RunRestore(const config::ServeConfig& config, const std::string& file, bool check_only);

struct TokenOptions {
  std::optional<std::string> sub;
  std::string role = "user";
  std::string ttl = "1h";
  std::optional<std::string> email;
};
int RunToken(const config::ServeConfig& config, const TokenOptions& options);

// `keys reseal`: every stored secret sealed under the master key in force (opened with it or
// an accepted one). `rotate`: first a new <data-dir>/master-key, the old one kept as
// master-key.previous (refused when the master key is configured, not a file). Prints JSON.
int RunReseal(const config::ServeConfig& config, bool rotate);

struct ReconcileOptions {
  bool dry_run = false;
  bool repair_drift = false;
};
// Prints the summary as JSON; exit code 2 when some organisation could not be fully checked.
int RunReconcile(const config::ServeConfig& config, const ReconcileOptions& options);

// Walks the audit chain; prints {"ok", "entries", "headHash"} or the first bad entry. Exit
// code 0 when intact, 2 when altered, inserted or removed entries were found.
int RunAuditVerify(const config::ServeConfig& config);

struct UserOptions {
  std::string email;
  std::string role;
};
int RunUserConfirm(const config::ServeConfig& config, const UserOptions& options);
int RunUserSetRole(const config::ServeConfig& config, const UserOptions& options);

}  // namespace assistantd::app
