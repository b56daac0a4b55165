#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"

namespace assistantd::config {

// Everything `serve`, `migrate` and `token` read from flags, environment and --config file.
struct ServeConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  std::string database_url;    // empty: SQLite at <data_dir>/assistantd.db
  int database_pool_size = 0;  // connections; 0: handler threads + sync workers + 1
  std::string jwt_secret;      // empty: generated once into <data_dir>/jwt-secret
  std::vector<std::string> jwt_accepted_secrets;  // verify, never sign (rotation)
  std::vector<std::string> accepted_master_keys;  // 64 hex chars each: open, never seal
  std::string master_key;  // 64 hex chars; empty: generated once into <data_dir>/master-key
  // What our tokens are signed with: HS256/384/512 (the secret) or ES256/RS256/EdDSA (the
  // key ring's key in use, generated once when the ring has none).
  std::string jwt_algorithm = "HS256";
  std::string jwt_audience = "authenticated";  // empty: aud not checked
  std::string jwt_issuer;                      // empty: iss not checked; ours from public_url
  std::string jwt_algorithms;  // accepted algorithms, comma-separated; empty: the keys' own
  std::string jwks_url;        // a JWK Set to verify tokens with (a Supabase project's)
  std::string jwks_file;       // the same from a file
  std::string jwks_refresh_interval = "30s";  // unknown-kid refreshes at most this often
  std::string jwks_timeout = "5s";            // one --jwks-url fetch, connection included
  std::string jwt_keys;    // GOTRUE_JWT_KEYS-style private JWKs; empty: <data-dir>/keys.json
  std::string public_url;  // where clients reach us; iss = <public_url>/auth/v1
  std::vector<std::string> publishable_keys;  // sb_publishable_… accepted in apikey
  std::vector<std::string> secret_keys;       // sb_secret_… (service role)
  bool strict_roles = false;  // refuse an app_metadata.role we do not know (else: user)
  std::string log_level = "info";
  int threads = 0;         // io threads; 0: one per core
  int worker_threads = 0;  // handler threads; 0: max(4, 2 × threads)
  size_t max_body_bytes = size_t{1} << 20;
  int shutdown_timeout_seconds = 10;
  int max_connections = 0;           // open at once; 0: 3/4 of the descriptor limit
  int max_connections_per_ip = 256;  // from one client address (trusted proxies exempt)
  int max_waits = 64;                // requests waiting for a sync outcome (Prefer: wait) at once
  int max_waits_per_user = 4;        // the same for one caller
  int sync_workers = 2;              // 0 disables syncing to Vapi
  int sync_max_attempts = 8;
  int sync_backoff_base_ms = 500;   // full-jitter exponential backoff: first ceiling
  int sync_backoff_cap_ms = 60000;  // largest wait between attempts
  int breaker_threshold = 5;        // consecutive transient Vapi failures that open it
  int breaker_open_ms = 10000;      // how long it stays open before one probe
  std::string vapi_base_url = "https://api.vapi.ai";
  std::string reconcile_interval = "off";  // periodic reconciliation: off, or 30m, 1h, ...
  bool reconcile_repair_drift = false;     // periodic runs also undo remote drift

  // Accounts (/auth/v1).
  std::string access_token_ttl = "1h";      // lifetime of issued access tokens
  int refresh_reuse_interval_seconds = 10;  // a just-rotated refresh token still works this long
  int password_min_length = 8;
  int password_max_length = 72;
  bool require_email_confirmation = false;  // sign-ups wait for an admin to confirm them
  bool disable_signup = false;
  // PATCH, DELETE and the sync trigger of an assistant must carry If-Match (428 without).
  bool require_if_match = false;
  // MiB of assistant representations the read cache holds (0: no cache).
  int64_t cache_size_mib = 64;
  // Scheduled backups (SQLite): every backup_interval ("off", or a duration) into backup_dir
  // (default <data-dir>/backups), the newest backup_keep kept.
  std::string backup_interval = "off";
  std::string backup_dir;
  int backup_keep = 7;
  // How often serve checks the audit chain ("off", or a duration): assistantd_audit_chain_ok.
  std::string audit_verify_interval = "1h";

  // Quotas and rate limits (C11): assistants per role (0: unlimited) and requests per window
  // per role ("600/1m"; "0": unlimited), and the auth endpoints' limits.
  int max_assistants_user = 100;
  int max_assistants_test = 1000;
  int max_assistants_premium = 5000;
  int max_assistants_admin = 0;
  std::string rate_limit_user = "600/1m";
  std::string rate_limit_test = "1200/1m";
  std::string rate_limit_premium = "3000/1m";
  std::string rate_limit_admin = "0";
  std::string rate_limit_token_ip = "150/5m";        // sign-ins and refreshes per client IP
  std::string rate_limit_signup_ip = "30/5m";        // sign-ups per client IP
  std::string rate_limit_signin_account = "10/5m";   // password sign-ins per e-mail address
  std::string rate_limit_refresh_account = "60/5m";  // refresh-token grants per account
  std::string redis_url;                             // empty: limits counted in process
  std::string redis_key_prefix = "assistantd:rl:";
  // Comma-separated addresses of reverse proxies whose X-Forwarded-For gives the client IP
  // (per-IP limits, audit, access log). Empty: the TCP peer is the client.
  std::string trusted_proxies;

  // What the deployment is for (config/deployment.hpp): "", development, staging, production.
  std::string profile;
  bool allow_test_role = false;  // production: accept tokens with the test role anyway
};

struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

// "HOST:PORT" or "[v6]:PORT"; port 0 picks a free one.
Result<ListenAddress> ParseListen(const std::string& text);

// Checks values that flags alone cannot constrain. Errors carry a one-line message.
Result<void> Validate(const ServeConfig& config);

// Where the data lives: a SQLite file ("sqlite:PATH", "sqlite://PATH", or empty for
// <data-dir>/assistantd.db) or a PostgreSQL database (postgres:// or postgresql:// URL).
struct DatabaseTarget {
  bool postgres = false;
  std::string location;  // the SQLite path or the PostgreSQL URL
};
Result<DatabaseTarget> ResolveDatabase(const ServeConfig& config);
// --backup-dir, or <data-dir>/backups.
std::string BackupDir(const ServeConfig& config);
// The SQLite path, or an error when the configuration names PostgreSQL.
Result<std::string> SqlitePath(const ServeConfig& config);
// A URL with its password masked, for logs and messages.
std::string RedactUrl(const std::string& url);

// The JWT secret: the configured one (at least 32 bytes), or the one generated into the data
// dir on first use (256 random bits, hex, file mode 0600), logging where it lives.
Result<std::string> ResolveJwtSecret(const ServeConfig& config, const Logger& logger);

// Where the key ring (signing keys, generated API keys) lives: <data-dir>/keys.json.
std::string KeyRingPath(const ServeConfig& config);

// The iss of the tokens we issue: --jwt-issuer, else <public-url>/auth/v1, else "assistantd".
std::string OwnIssuer(const ServeConfig& config);

// "ES256, RS256" → names; empty entries dropped.
std::vector<std::string> SplitList(const std::string& text);

// The 32-byte master key sealing stored secrets: the configured one (64 hex characters) or
// the one generated into the data dir on first use (file mode 0600); and the keys whose
// sealed values still open: --accepted-master-key, and <data-dir>/master-key.previous, which
// `keys rotate-master` leaves.
struct MasterKeys {
  std::string current;
  std::vector<std::string> accepted;
};
Result<MasterKeys> ResolveMasterKeys(const ServeConfig& config, const Logger& logger);
inline constexpr const char* kPreviousMasterKeyFile = "master-key.previous";
// Replaces `path` with `content` (mode 0600) atomically and durably: a crash leaves the old
// file or the new one.
Result<void> WriteSecretFile(const std::string& path, const std::string& content);

// Reads a --config file of KEY=VALUE lines (the environment variable names, '#' comments)
// and exports each key not already set in the environment, so flags beat env beat file.
Result<void> ApplyConfigFile(const std::string& path);

// "90", "90s", "15m", "1h", "7d" → seconds.
Result<int64_t> ParseDuration(const std::string& text);

// ParseDuration, or 0 for "off" / "0" (a disabled periodic task).
Result<int64_t> ParseInterval(const std::string& text);

int DefaultThreads();

}  // namespace assistantd::config
