// assistantd: command-line entry point. Parses flags (flag > environment > --config file)
// and runs one subcommand.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include "app/commands.hpp"
#include "app/key_setup.hpp"
#include "app/smoke.hpp"
#include "config/config.hpp"

namespace {

using assistantd::config::ServeConfig;

void AddStorageOptions(CLI::App& cmd, ServeConfig& c) {
  cmd.add_option("--data-dir", c.data_dir, "Directory for the SQLite file and generated secrets")
      ->envname("ASSISTANTD_DATA_DIR")
      ->capture_default_str();
  cmd.add_option("--database-url", c.database_url,
                 "Database URL: sqlite:PATH (default: <data-dir>/assistantd.db)")
      ->envname("ASSISTANTD_DATABASE_URL");
  cmd.add_option("--log-level", c.log_level, "trace, debug, info, warn, error, critical, off")
      ->envname("ASSISTANTD_LOG_LEVEL")
      ->capture_default_str();
}

void AddMasterKeyOptions(CLI::App& cmd, ServeConfig& c) {
  cmd.add_option("--master-key", c.master_key,
                 "64 hex characters sealing stored Vapi keys. Default: generated once into "
                 "<data-dir>/master-key")
      ->envname("ASSISTANTD_MASTER_KEY");
  cmd.add_option("--accepted-master-key", c.accepted_master_keys,
                 "A further master key (64 hex) whose sealed values still open; it never seals "
                 "(repeat, or comma-separate in the environment): rotating --master-key")
      ->envname("ASSISTANTD_ACCEPTED_MASTER_KEYS")
      ->delimiter(',');
}

void AddVapiOptions(CLI::App& cmd, ServeConfig& c) {
  AddMasterKeyOptions(cmd, c);
  cmd.add_option("--vapi-base-url", c.vapi_base_url,
                 "Vapi API base URL (a trailing /v1 is ignored). The API key comes from "
                 "VAPI_API_KEY")
      ->envname("ASSISTANTD_VAPI_BASE_URL")
      ->capture_default_str();
}

void AddJwtOptions(CLI::App& cmd, ServeConfig& c) {
  cmd.add_option("--jwt-secret", c.jwt_secret,
                 "HMAC secret for JWTs, at least 32 bytes (the Supabase JWT secret). Default: "
                 "generated once into <data-dir>/jwt-secret")
      ->envname("ASSISTANTD_JWT_SECRET");
  cmd.add_option("--jwt-accepted-secret", c.jwt_accepted_secrets,
                 "A further HMAC secret that verifies tokens but never signs (repeat, or "
                 "comma-separate in the environment): rotating --jwt-secret across instances")
      ->envname("ASSISTANTD_JWT_ACCEPTED_SECRETS")
      ->delimiter(',');
  cmd.add_option("--jwt-algorithm", c.jwt_algorithm,
                 "What our tokens are signed with: HS256, HS384 or HS512 (the secret), or "
                 "ES256, RS256 or EdDSA (the key ring's key in use, generated once into "
                 "<data-dir>/keys.json when there is none)")
      ->envname("ASSISTANTD_JWT_ALGORITHM")
      ->capture_default_str();
  cmd.add_option("--jwt-algorithms", c.jwt_algorithms,
                 "Algorithms a token may use, comma-separated (default: those of the configured "
                 "keys; each key verifies only its own)")
      ->envname("ASSISTANTD_JWT_ALGORITHMS");
  cmd.add_option("--jwks-url", c.jwks_url,
                 "Verify tokens with this JWK Set too, e.g. https://<project>.supabase.co/auth/v1/"
                 ".well-known/jwks.json (https; http only to loopback)")
      ->envname("ASSISTANTD_JWKS_URL");
  cmd.add_option("--jwks-file", c.jwks_file,
                 "Verify tokens with the public keys of this JWK Set file")
      ->envname("ASSISTANTD_JWKS_FILE");
  cmd.add_option("--jwks-refresh-interval", c.jwks_refresh_interval,
                 "A token with an unknown kid refetches --jwks-url at most this often")
      ->envname("ASSISTANTD_JWKS_REFRESH_INTERVAL")
      ->capture_default_str();
  cmd.add_option("--jwks-timeout", c.jwks_timeout, "Longest a --jwks-url fetch may take (1s-60s)")
      ->envname("ASSISTANTD_JWKS_TIMEOUT")
      ->capture_default_str();
  cmd.add_option("--jwt-keys", c.jwt_keys,
                 "Signing keys as GoTrue's GOTRUE_JWT_KEYS: a JSON array of private JWKs, the one "
                 "with \"sign\" in key_ops in use (default: <data-dir>/keys.json)")
      ->envname("ASSISTANTD_JWT_KEYS");
  cmd.add_option("--public-url", c.public_url,
                 "The URL clients reach this server at; our tokens' iss is <url>/auth/v1")
      ->envname("ASSISTANTD_PUBLIC_URL");
  cmd.add_option("--publishable-key", c.publishable_keys,
                 "A Supabase publishable key (sb_publishable_...) accepted as apikey; repeatable")
      ->envname("ASSISTANTD_PUBLISHABLE_KEYS")
      ->delimiter(',');
  cmd.add_option("--secret-key", c.secret_keys,
                 "A Supabase secret key (sb_secret_...): the service role; repeatable")
      ->envname("ASSISTANTD_SECRET_KEYS")
      ->delimiter(',');
  cmd.add_flag("--strict-roles", c.strict_roles,
               "Refuse tokens whose app_metadata.role is not one of ours (default: such callers "
               "are plain users)")
      ->envname("ASSISTANTD_STRICT_ROLES");
  cmd.add_option("--jwt-audience", c.jwt_audience, "Required aud claim; empty disables the check")
      ->envname("ASSISTANTD_JWT_AUDIENCE")
      ->capture_default_str();
  cmd.add_option("--jwt-issuer", c.jwt_issuer, "Required iss claim, when set")
      ->envname("ASSISTANTD_JWT_ISSUER");
}

// Applies --config FILE before CLI11 reads the environment, so flags > env > file.
int PreloadConfigFile(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string path;
    if (arg == "--config" && i + 1 < argc) {
      path = argv[i + 1];
    } else if (arg.starts_with("--config=")) {
      path = std::string(arg.substr(9));
    } else {
      continue;
    }
    if (auto r = assistantd::config::ApplyConfigFile(path); !r) {
      std::fprintf(stderr, "assistantd: %s\n", r.error().message.c_str());
      return 1;
    }
  }
  return 0;
}

// glibc hands freed memory back to the kernel eagerly: with its default (dynamic) thresholds
// the worker threads' arenas were trimmed again and again, each trim a madvise() and a TLB
// shootdown on every core — 19% of assistantd's CPU while syncing (perf). Keep up to 64 MiB
// free per arena and never mmap blocks under 4 MiB (sync throughput 483 → 1,050 jobs/s).
void TuneMalloc() {
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

void AddAccountOptions(CLI::App& cmd, ServeConfig& c) {
  cmd.add_option("--access-token-ttl", c.access_token_ttl,
                 "Lifetime of access tokens issued by /auth/v1 (1m-7d)")
      ->envname("ASSISTANTD_ACCESS_TOKEN_TTL")
      ->capture_default_str();
  cmd.add_option("--refresh-reuse-interval", c.refresh_reuse_interval_seconds,
                 "Seconds a rotated refresh token may still be used (two tabs refreshing at once); "
                 "any later reuse ends the session")
      ->envname("ASSISTANTD_REFRESH_REUSE_INTERVAL")
      ->capture_default_str();
  cmd.add_option("--password-min-length", c.password_min_length, "Shortest password (>= 6)")
      ->envname("ASSISTANTD_PASSWORD_MIN_LENGTH")
      ->capture_default_str();
  cmd.add_option("--password-max-length", c.password_max_length,
                 "Longest password in bytes (<= 4096)")
      ->envname("ASSISTANTD_PASSWORD_MAX_LENGTH")
      ->capture_default_str();
  cmd.add_flag("--require-email-confirmation", c.require_email_confirmation,
               "New accounts cannot sign in until an admin confirms them "
               "(PATCH /v1/admin/users/{id} or `assistantd user confirm`)")
      ->envname("ASSISTANTD_REQUIRE_EMAIL_CONFIRMATION");
  cmd.add_flag("--disable-signup", c.disable_signup, "Refuse sign-ups (admins still create users)")
      ->envname("ASSISTANTD_DISABLE_SIGNUP");
}

void AddLimitOptions(CLI::App& cmd, ServeConfig& c) {
  const auto quota = [&](const char* flag, int& value, const char* env, const char* role) {
    cmd.add_option(flag, value, std::string("Assistants a ") + role + " may own (0: unlimited)")
        ->envname(env)
        ->capture_default_str();
  };
  quota("--max-assistants-user", c.max_assistants_user, "ASSISTANTD_MAX_ASSISTANTS_USER", "user");
  quota("--max-assistants-test", c.max_assistants_test, "ASSISTANTD_MAX_ASSISTANTS_TEST",
        "test user");
  quota("--max-assistants-premium", c.max_assistants_premium, "ASSISTANTD_MAX_ASSISTANTS_PREMIUM",
        "premium user");
  quota("--max-assistants-admin", c.max_assistants_admin, "ASSISTANTD_MAX_ASSISTANTS_ADMIN",
        "admin");
  const auto rate = [&](const char* flag, std::string& value, const char* env, const char* what) {
    cmd.add_option(flag, value, std::string(what) + " (COUNT/PERIOD such as 600/1m; 0: unlimited)")
        ->envname(env)
        ->capture_default_str();
  };
  rate("--rate-limit-user", c.rate_limit_user, "ASSISTANTD_RATE_LIMIT_USER",
       "API requests per user");
  rate("--rate-limit-test", c.rate_limit_test, "ASSISTANTD_RATE_LIMIT_TEST",
       "API requests per test user");
  rate("--rate-limit-premium", c.rate_limit_premium, "ASSISTANTD_RATE_LIMIT_PREMIUM",
       "API requests per premium user");
  rate("--rate-limit-admin", c.rate_limit_admin, "ASSISTANTD_RATE_LIMIT_ADMIN",
       "API requests per admin");
  rate("--rate-limit-token-ip", c.rate_limit_token_ip, "ASSISTANTD_RATE_LIMIT_TOKEN_IP",
       "Sign-ins and refreshes per client IP");
  rate("--rate-limit-signup-ip", c.rate_limit_signup_ip, "ASSISTANTD_RATE_LIMIT_SIGNUP_IP",
       "Sign-ups (and PUT /auth/v1/user) per client IP");
  rate("--rate-limit-signin-account", c.rate_limit_signin_account,
       "ASSISTANTD_RATE_LIMIT_SIGNIN_ACCOUNT", "Password sign-ins and sign-ups per e-mail address");
  rate("--rate-limit-refresh-account", c.rate_limit_refresh_account,
       "ASSISTANTD_RATE_LIMIT_REFRESH_ACCOUNT", "Refresh-token grants per account");
  cmd.add_option("--redis-url", c.redis_url,
                 "redis://[:password@]host[:port][/db]: count rate limits in Redis so they hold "
                 "across instances (default: in process)")
      ->envname("ASSISTANTD_REDIS_URL");
  cmd.add_option("--trusted-proxies", c.trusted_proxies,
                 "Comma-separated proxy addresses (e.g. 127.0.0.1,::1) whose X-Forwarded-For names "
                 "the client; per-IP limits and the audit log then see the real client")
      ->envname("ASSISTANTD_TRUSTED_PROXIES");
  cmd.add_option("--redis-key-prefix", c.redis_key_prefix, "Prefix of assistantd's Redis keys")
      ->envname("ASSISTANTD_REDIS_KEY_PREFIX")
      ->capture_default_str();
}

// Everything serve reads (also what check-config checks).
void AddServeOptions(CLI::App& cmd, ServeConfig& c) {
  cmd.add_option("--listen", c.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->envname("ASSISTANTD_LISTEN")
      ->capture_default_str();
  AddStorageOptions(cmd, c);
  AddJwtOptions(cmd, c);
  AddVapiOptions(cmd, c);
  cmd.add_option("--database-pool-size", c.database_pool_size,
                 "Database connections (default 0: handler threads + sync workers + 1); with "
                 "several instances on PostgreSQL, keep the sum below max_connections")
      ->envname("ASSISTANTD_DATABASE_POOL_SIZE")
      ->capture_default_str();
  cmd.add_option("--threads", c.threads, "I/O threads (default: one per core)")
      ->envname("ASSISTANTD_THREADS");
  cmd.add_option("--worker-threads", c.worker_threads,
                 "Request handler threads (default: max(4, 2 x threads))")
      ->envname("ASSISTANTD_WORKER_THREADS");
  cmd.add_flag("--require-if-match", c.require_if_match,
               "Writes to an assistant (PATCH, DELETE, POST .../sync) must carry If-Match with "
               "its current ETag, so no client overwrites a change it has not seen (428 without)")
      ->envname("ASSISTANTD_REQUIRE_IF_MATCH");
  cmd.add_option("--cache-size", c.cache_size_mib,
                 "MiB of assistant representations kept in the read cache, which every "
                 "committed change keeps current across instances (0: off)")
      ->envname("ASSISTANTD_CACHE_SIZE")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  cmd.add_option("--max-body-bytes", c.max_body_bytes, "Largest request body accepted (413)")
      ->envname("ASSISTANTD_MAX_BODY_BYTES")
      ->capture_default_str();
  cmd.add_option("--shutdown-timeout", c.shutdown_timeout_seconds,
                 "Seconds to drain in-flight requests on SIGTERM/SIGINT")
      ->envname("ASSISTANTD_SHUTDOWN_TIMEOUT")
      ->capture_default_str();
  cmd.add_option("--max-connections", c.max_connections,
                 "Client connections open at once; more get 503 (0: 3/4 of the open-files limit)")
      ->envname("ASSISTANTD_MAX_CONNECTIONS")
      ->capture_default_str();
  cmd.add_option("--max-connections-per-ip", c.max_connections_per_ip,
                 "Client connections open at once from one address, trusted proxies exempt "
                 "(0: no limit)")
      ->envname("ASSISTANTD_MAX_CONNECTIONS_PER_IP")
      ->capture_default_str();
  cmd.add_option("--max-waits", c.max_waits,
                 "Requests waiting for their sync outcome (Prefer: wait) at once; more are "
                 "answered without waiting")
      ->envname("ASSISTANTD_MAX_WAITS")
      ->capture_default_str();
  cmd.add_option("--max-waits-per-user", c.max_waits_per_user, "The same for one caller")
      ->envname("ASSISTANTD_MAX_WAITS_PER_USER")
      ->capture_default_str();

  cmd.add_option("--sync-workers", c.sync_workers,
                 "Threads syncing assistants to Vapi (0 disables syncing)")
      ->envname("ASSISTANTD_SYNC_WORKERS")
      ->capture_default_str();
  cmd.add_option("--sync-max-attempts", c.sync_max_attempts,
                 "Transient failures before a sync job is dead-lettered")
      ->envname("ASSISTANTD_SYNC_MAX_ATTEMPTS")
      ->capture_default_str();
  cmd.add_option("--sync-backoff-base-ms", c.sync_backoff_base_ms,
                 "First retry waits up to this long (full-jitter exponential backoff)")
      ->envname("ASSISTANTD_SYNC_BACKOFF_BASE_MS")
      ->capture_default_str();
  cmd.add_option("--sync-backoff-cap-ms", c.sync_backoff_cap_ms,
                 "Longest wait between two attempts of a sync job")
      ->envname("ASSISTANTD_SYNC_BACKOFF_CAP_MS")
      ->capture_default_str();
  cmd.add_option("--breaker-threshold", c.breaker_threshold,
                 "Consecutive transient Vapi failures that open the circuit breaker")
      ->envname("ASSISTANTD_BREAKER_THRESHOLD")
      ->capture_default_str();
  cmd.add_option("--breaker-open-ms", c.breaker_open_ms,
                 "How long the breaker stays open before one probe call")
      ->envname("ASSISTANTD_BREAKER_OPEN_MS")
      ->capture_default_str();
  cmd.add_option("--reconcile-interval", c.reconcile_interval,
                 "Run reconciliation with Vapi this often (off, or 30m, 1h, 1d)")
      ->envname("ASSISTANTD_RECONCILE_INTERVAL")
      ->capture_default_str();
  cmd.add_flag("--reconcile-repair-drift", c.reconcile_repair_drift,
               "Periodic reconciliation also undoes fields changed in Vapi out of band")
      ->envname("ASSISTANTD_RECONCILE_REPAIR_DRIFT");

  cmd.add_option("--backup-interval", c.backup_interval,
                 "Back the SQLite database up this often while serving (off, or 1h, 6h, 1d)")
      ->envname("ASSISTANTD_BACKUP_INTERVAL")
      ->capture_default_str();
  cmd.add_option("--backup-dir", c.backup_dir,
                 "Where scheduled backups go (default: <data-dir>/backups)")
      ->envname("ASSISTANTD_BACKUP_DIR");
  cmd.add_option("--backup-keep", c.backup_keep, "Scheduled backups kept (the newest)")
      ->envname("ASSISTANTD_BACKUP_KEEP")
      ->capture_default_str();
  cmd.add_option("--audit-verify-interval", c.audit_verify_interval,
                 "Check the audit chain this often while serving (off, or 10m, 1h, 1d)")
      ->envname("ASSISTANTD_AUDIT_VERIFY_INTERVAL")
      ->capture_default_str();

  AddAccountOptions(cmd, c);
  AddLimitOptions(cmd, c);
  cmd.add_option("--profile", c.profile,
                 "production, staging or development: production refuses unsafe settings "
                 "(assistantd check-config) and test-role tokens; a database serves one profile")
      ->envname("ASSISTANTD_PROFILE");
  cmd.add_flag("--allow-test-role", c.allow_test_role,
               "Accept tokens with the test role under --profile production")
      ->envname("ASSISTANTD_ALLOW_TEST_ROLE");
}

// A running server reached from outside: --url and one credential, the keys preferably from
// the environment (PREFIX + SERVICE_KEY, TOKEN, APIKEY).
void AddRemoteOptions(CLI::App& cmd, assistantd::app::RemoteTarget& t, const std::string& env,
                      const std::string& service_key_use) {
  cmd.add_option("--url", t.url, "The server's base URL, as clients reach it");
  cmd.add_option("--service-key", t.service_key,
                 "sb_secret_… key or service_role JWT: " + service_key_use +
                     " (prefer the environment variable)")
      ->envname(env + "SERVICE_KEY");
  cmd.add_option("--token", t.token,
                 "An access token instead of --service-key (prefer the environment variable)")
      ->envname(env + "TOKEN");
  cmd.add_option("--apikey", t.apikey,
                 "Publishable key sent as apikey with --token, when the server requires one")
      ->envname(env + "APIKEY");
  cmd.add_option("--cacert", t.ca_file,
                 "PEM file of the certificates to trust (a private CA) instead of the system's")
      ->check(CLI::ExistingFile);
  cmd.add_option("--timeout-ms", t.timeout_ms, "Per request")
      ->check(CLI::Range(1000L, 3600000L))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  TuneMalloc();
  // Past a file-size limit (RLIMIT_FSIZE) a write then fails with EFBIG, which the stores
  // answer as a full disk (503, nothing changed), instead of SIGXFSZ ending the process.
  std::signal(SIGXFSZ, SIG_IGN);
  if (const int rc = PreloadConfigFile(argc, argv); rc != 0) return rc;

  CLI::App app{
      "assistantd: manage Vapi voice assistants behind JWT auth, with per-user "
      "isolation, on embedded SQLite"};
  app.require_subcommand(1);
  app.fallthrough();  // --config may also follow the subcommand
  std::string config_file;
  app.add_option("--config", config_file,
                 "File of KEY=VALUE lines using the environment variable names "
                 "(ASSISTANTD_LISTEN=…); flags and the environment take precedence");

  // One config per subcommand: CLI11 applies environment values to every subcommand's
  // options, so sharing one struct would let a non-invoked subcommand overwrite flags.
  ServeConfig c;
  ServeConfig migrate_config;
  ServeConfig token_config;
  auto* serve = app.add_subcommand("serve", "Run the HTTP API");
  AddServeOptions(*serve, c);

  ServeConfig check_config;
  auto* check = app.add_subcommand(
      "check-config",
      "Check serve's settings for --profile (production: errors refuse to start, "
      "staging: warnings); exit 1 when production would refuse");
  AddServeOptions(*check, check_config);

  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit");
  AddStorageOptions(*migrate, migrate_config);
  bool migrate_status = false;
  migrate->add_flag("--status", migrate_status,
                    "Change nothing: print applied, pending and newer migrations as JSON; exit "
                    "0 when this release runs on the database as it is, 2 when migrations are "
                    "pending, 1 when a newer release changed it beyond what this one reads");

  assistantd::app::TokenOptions token_options;
  auto* token = app.add_subcommand(
      "token", "Print a signed JWT for the same configuration as serve (only the token)");
  AddStorageOptions(*token, token_config);
  AddJwtOptions(*token, token_config);
  token->add_option("--sub", token_options.sub, "User id (UUID); optional for service_role");
  token
      ->add_option("--role", token_options.role,
                   "user, authenticated, premium, test, admin or service_role")
      ->capture_default_str();
  token->add_option("--ttl", token_options.ttl, "Lifetime: 90s, 15m, 1h, 7d")
      ->capture_default_str();
  token->add_option("--email", token_options.email, "email claim");

  ServeConfig reconcile_config;
  assistantd::app::ReconcileOptions reconcile_options;
  auto* reconcile = app.add_subcommand(
      "reconcile",
      "Compare Vapi with the database: re-create missing copies, delete orphans and duplicates "
      "this installation made, report drift; prints a JSON summary");
  AddStorageOptions(*reconcile, reconcile_config);
  AddVapiOptions(*reconcile, reconcile_config);
  reconcile->add_flag("--dry-run", reconcile_options.dry_run, "Report only; change nothing");
  reconcile->add_flag("--repair-drift", reconcile_options.repair_drift,
                      "Also sync assistants whose Vapi copy was changed out of band");
  assistantd::app::RemoteTarget reconcile_remote;
  reconcile_remote.timeout_ms = 600000;
  AddRemoteOptions(*reconcile, reconcile_remote, "ASSISTANTD_",
                   "with --url: an admin's credential");
  reconcile->get_option("--url")->description(
      "Run the reconciliation on this running server through its admin API (POST "
      "/v1/admin/reconcile) instead of opening the database here");

  ServeConfig export_config;
  std::string export_output = "-";
  auto* export_cmd =
      app.add_subcommand("export",
                         "Write every user, stored Vapi key and assistant as JSON lines (portable "
                         "between SQLite and PostgreSQL)");
  AddStorageOptions(*export_cmd, export_config);
  export_cmd->add_option("--output,-o", export_output, "File to write, or - for standard output")
      ->capture_default_str();

  ServeConfig import_config;
  std::string import_input;
  auto* import_cmd = app.add_subcommand(
      "import", "Load an export into an empty database (checked whole before writing)");
  AddStorageOptions(*import_cmd, import_config);
  import_cmd->add_option("file", import_input, "The export file")->required();

  ServeConfig backup_config;
  std::string backup_output;
  auto* backup_cmd = app.add_subcommand(
      "backup",
      "Write a consistent, compressed backup of the SQLite database with a manifest, while "
      "the server runs and writes (prints the manifest)");
  AddStorageOptions(*backup_cmd, backup_config);
  backup_cmd->add_option("--output,-o", backup_output,
                         "File to write, or - for standard output (default: "
                         "<data-dir>/backups/assistantd-<UTC time>.backup)");

  ServeConfig restore_config;
  std::string restore_input;
  bool restore_check_only = false;
  auto* restore_cmd = app.add_subcommand(
      "restore",
      "Replace the (stopped) SQLite database with a backup, after checking its checksum, "
      "integrity, counts and audit chain; the replaced database is kept beside it");
  AddStorageOptions(*restore_cmd, restore_config);
  restore_cmd->add_option("file", restore_input, "The backup file")->required();
  restore_cmd->add_flag("--check", restore_check_only,
                        "Only verify the backup (in a scratch file); replace nothing");

  ServeConfig audit_config;
  auto* audit_cmd = app.add_subcommand("audit", "Audit log tools");
  audit_cmd->require_subcommand(1);
  auto* audit_verify = audit_cmd->add_subcommand(
      "verify", "Check the audit log's hash chain; prints a JSON report, exit 2 when broken");
  AddStorageOptions(*audit_verify, audit_config);

  ServeConfig user_config;
  assistantd::app::UserOptions user_options;
  auto* user_cmd = app.add_subcommand("user", "Account administration without the HTTP API");
  user_cmd->require_subcommand(1);
  auto* user_confirm = user_cmd->add_subcommand(
      "confirm", "Confirm an account's e-mail (with --require-email-confirmation)");
  auto* user_role = user_cmd->add_subcommand("set-role", "Give an account a role");
  for (auto* sub : {user_confirm, user_role}) {
    AddStorageOptions(*sub, user_config);
    sub->add_option("--email", user_options.email, "The account's e-mail address")->required();
  }
  user_role->add_option("--role", user_options.role, "user, premium, test or admin")->required();

  ServeConfig keys_config;
  assistantd::app::KeysOptions keys_options;
  auto* keys_cmd = app.add_subcommand(
      "keys", "JWT signing keys and API keys in <data-dir>/keys.json (serve picks up changes)");
  keys_cmd->require_subcommand(1);
  auto* keys_list =
      keys_cmd->add_subcommand("list", "Show the signing keys, their states and the API keys");
  auto* keys_create = keys_cmd->add_subcommand("create", "Add a standby signing key");
  keys_create->add_option("--algorithm", keys_options.algorithm, "ES256, RS256 or EdDSA")
      ->capture_default_str();
  keys_create->add_flag("--activate", keys_options.activate, "Put it in use at once");
  auto* keys_activate = keys_cmd->add_subcommand(
      "activate", "Sign with this key from now on (the key in use becomes previously used)");
  auto* keys_revoke = keys_cmd->add_subcommand(
      "revoke", "Stop trusting a standby or previously used key: its tokens are refused");
  for (auto* sub : {keys_activate, keys_revoke}) {
    sub->add_option("kid", keys_options.kid, "The key's kid, or \"legacy\" for the HS secret")
        ->required();
  }
  auto* keys_export = keys_cmd->add_subcommand(
      "export", "Print the ring as GOTRUE_JWT_KEYS (private keys!) for ASSISTANTD_JWT_KEYS");
  auto* keys_api_create = keys_cmd->add_subcommand(
      "api-key-create", "Generate an API key (printed once; only its SHA-256 is kept)");
  keys_api_create->add_option("--type", keys_options.type, "publishable or secret")
      ->capture_default_str();
  keys_api_create->add_option("--name", keys_options.name, "A label to recognise it by");
  ServeConfig reseal_config;
  auto* keys_reseal = keys_cmd->add_subcommand(
      "reseal",
      "Seal every stored secret under --master-key, opening each with it or an "
      "accepted master key, in one transaction (changes nothing if one opens with none)");
  auto* keys_rotate_master = keys_cmd->add_subcommand(
      "rotate-master",
      "Replace <data-dir>/master-key with a new key and reseal every stored "
      "secret under it (the old key is kept as master-key.previous); serve "
      "stopped");
  for (auto* sub : {keys_reseal, keys_rotate_master}) {
    AddStorageOptions(*sub, reseal_config);
    AddMasterKeyOptions(*sub, reseal_config);
  }
  auto* keys_api_revoke = keys_cmd->add_subcommand("api-key-revoke", "Refuse a generated API key");
  keys_api_revoke->add_option("id", keys_options.kid, "The API key's id (from keys list)")
      ->required();
  for (auto* sub : {keys_list, keys_create, keys_activate, keys_revoke, keys_export,
                    keys_api_create, keys_api_revoke}) {
    AddStorageOptions(*sub, keys_config);
    sub->add_option("--jwt-keys", keys_config.jwt_keys, "As for serve")
        ->envname("ASSISTANTD_JWT_KEYS");
    sub->callback([&keys_options, sub] { keys_options.action = sub->get_name(); });
  }

  assistantd::app::SmokeOptions smoke_options;
  auto* smoke = app.add_subcommand(
      "smoke",
      "Check a deployed server from outside: health, readiness, auth, an assistant's "
      "create/read/delete round trip (and its sync with --expect-sync), metrics; exit 0 "
      "when all pass, 1 otherwise");
  AddRemoteOptions(*smoke, smoke_options.target, "ASSISTANTD_SMOKE_",
                   "a throwaway user is made and removed");
  smoke->get_option("--url")->required();
  smoke->add_flag(
      "--expect-sync", smoke_options.expect_sync,
      "The assistant must reach Vapi and be removed from it (a Vapi key is configured)");
  smoke->add_option("--metrics-url", smoke_options.metrics_url,
                    "Where /metrics answers (default <url>/metrics; off: not checked, e.g. "
                    "behind a proxy that hides it)");

  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);

  if (*serve) return assistantd::app::RunServe(c);
  if (*check) return assistantd::app::RunCheckConfig(check_config);
  if (*migrate) return assistantd::app::RunMigrate(migrate_config, migrate_status);
  if (*token) return assistantd::app::RunToken(token_config, token_options);
  if (*reconcile) {
    if (!reconcile_remote.url.empty()) {
      return assistantd::app::RunRemoteReconcile(reconcile_remote, reconcile_options);
    }
    return assistantd::app::RunReconcile(reconcile_config, reconcile_options);
  }
  if (*export_cmd) return assistantd::app::RunExport(export_config, export_output);
  if (*import_cmd) return assistantd::app::RunImport(import_config, import_input);
  if (*backup_cmd) return assistantd::app::RunBackup(backup_config, backup_output);
  if (*restore_cmd) {
    return assistantd::app::RunRestore(restore_config, restore_input, restore_check_only);
  }
  if (*audit_verify) return assistantd::app::RunAuditVerify(audit_config);
  if (*user_confirm) return assistantd::app::RunUserConfirm(user_config, user_options);
  if (*user_role) return assistantd::app::RunUserSetRole(user_config, user_options);
  if (*keys_reseal) return assistantd::app::RunReseal(reseal_config, /*rotate=*/false);
  if (*keys_rotate_master) return assistantd::app::RunReseal(reseal_config, /*rotate=*/true);
  if (*keys_cmd) return assistantd::app::RunKeys(keys_config, keys_options);
  if (*smoke) return assistantd::app::RunSmoke(smoke_options);
  if (*version) {
    std::printf("assistantd %s\n", assistantd::app::kVersion);
    return 0;
  }
  return 1;
}
