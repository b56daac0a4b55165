#include "app/commands.hpp"

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include "api/admin_api.hpp"
#include "api/assistants_api.hpp"
#include "api/auth_api.hpp"
#include "api/gotrue_admin_api.hpp"
#include "api/health_api.hpp"
#include "api/keys_api.hpp"
#include "api/profile_api.hpp"
#include "api/request_limits.hpp"
#include "api/sync_api.hpp"
#include "api/token_authenticator.hpp"
#include "app/key_setup.hpp"
#include "app/transfer.hpp"
#include "audit/audit_log.hpp"
#include "auth/jwt.hpp"
#include "auth/password_hasher.hpp"
#include "auth/session_tokens.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/uuid.hpp"
#include "domain/principal.hpp"
#include "domain/vapi_schema.hpp"
#include "http/pipeline.hpp"
#include "http/server.hpp"
#include "limits/local_rate_limiter.hpp"
#include "limits/redis_rate_limiter.hpp"
#include "storage/postgres/pg_assistant_store.hpp"
#include "storage/postgres/pg_audit_store.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_sync_store.hpp"
#include "storage/postgres/pg_user_store.hpp"
#include "storage/sqlite/sqlite_assistant_store.hpp"
#include "storage/sqlite/sqlite_audit_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/sqlite_key_store.hpp"
#include "storage/sqlite/sqlite_sync_store.hpp"
#include "storage/sqlite/sqlite_user_store.hpp"
#include "sync/key_source.hpp"
#include "sync/outcome_waiter.hpp"
#include "sync/reconciler.hpp"
#include "sync/sync_worker.hpp"
#include "vapi/curl_vapi_client.hpp"

namespace assistantd::app {

int Die(const std::string& message) {
  std::fprintf(stderr, "assistantd: %s\n", message.c_str());
  return 1;
}

int Die(const Error& e) {
  std::string line = e.message;
  if (!e.internal.empty()) line += " (" + e.internal + ")";
  return Die(line);
}

namespace {

Result<limits::LimitsSettings> LimitsSettingsFor(const config::ServeConfig& c) {
  limits::LimitsSettings s;
  s.user.max_assistants = c.max_assistants_user;
  s.test.max_assistants = c.max_assistants_test;
  s.premium.max_assistants = c.max_assistants_premium;
  s.admin.max_assistants = c.max_assistants_admin;
  const std::pair<const char*, std::pair<const std::string*, limits::RateLimit*>> rates[] = {
      {"--rate-limit-user", {&c.rate_limit_user, &s.user.requests}},
      {"--rate-limit-test", {&c.rate_limit_test, &s.test.requests}},
      {"--rate-limit-premium", {&c.rate_limit_premium, &s.premium.requests}},
      {"--rate-limit-admin", {&c.rate_limit_admin, &s.admin.requests}},
      {"--rate-limit-token-ip", {&c.rate_limit_token_ip, &s.token_per_ip}},
      {"--rate-limit-signup-ip", {&c.rate_limit_signup_ip, &s.signup_per_ip}},
      {"--rate-limit-signin-account", {&c.rate_limit_signin_account, &s.signin_per_account}},
      {"--rate-limit-refresh-account", {&c.rate_limit_refresh_account, &s.refresh_per_account}}};
  for (const auto& [flag, target] : rates) {
    if (!limits::ParseRateLimit(*target.first, *target.second)) {
      return Fail(
          ErrorCode::kInvalidInput, "invalid_config",
          std::string(flag) + " must be COUNT/PERIOD such as 600/1m (period up to 24h), or 0");
    }
  }
  return s;
}

api::AuthSettings AuthSettingsFor(const config::ServeConfig& c, const auth::JwtSettings& jwt) {
  api::AuthSettings s;
  s.jwt = jwt;
  s.jwt.issuer = config::OwnIssuer(c);
  s.access_token_ttl_seconds = config::ParseDuration(c.access_token_ttl).value_or(3600);
  s.refresh_reuse_interval_seconds = c.refresh_reuse_interval_seconds;
  s.password.min_length = static_cast<size_t>(c.password_min_length);
  s.password.max_length = static_cast<size_t>(c.password_max_length);
  s.require_email_confirmation = c.require_email_confirmation;
  s.disable_signup = c.disable_signup;
  return s;
}

int WorkerThreads(const config::ServeConfig& c, int io_threads) {
  return c.worker_threads > 0 ? c.worker_threads : std::max(4, 2 * io_threads);
}

// The configured database with the stores over it, migrated. Members are destroyed in reverse
// order: the stores before the database they use.
struct Storage {
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<storage::AssistantStore> assistants;
  std::unique_ptr<storage::UserStore> users;
  std::unique_ptr<storage::SyncStore> sync;
  std::unique_ptr<storage::KeyStore> keys;
  std::unique_ptr<storage::AuditStore> audit;
  std::string description;      // for messages: the SQLite path or the redacted URL
  bool single_process = false;  // SQLite: a job left running was interrupted by our own crash
  storage::PgAuditStore* pg_audit = nullptr;  // PostgreSQL: its audit entries need sealing
};

// `metrics`, when given, gets the write batches' metrics (the server's; commands have none).
Result<Storage> OpenStorage(const config::ServeConfig& c, int pool_size, const LogFactory& logs,
                            MetricsRegistry* metrics = nullptr) {
  auto target = config::ResolveDatabase(c);
  if (!target) return tl::unexpected(target.error());
  Storage s;
  if (target->postgres) {
    auto db = storage::PgDatabase::Open(
        {.url = target->location, .pool_size = pool_size, .metrics = metrics},
        logs.Make("storage"));
    if (!db) return tl::unexpected(db.error());
    if (auto applied = (*db)->Migrate(); !applied) return tl::unexpected(applied.error());
    auto assistants = std::make_unique<storage::PgAssistantStore>(**db);
    s.sync = std::make_unique<storage::PgSyncStore>(**db, *assistants);
    s.users = std::make_unique<storage::PgUserStore>(**db);
    s.keys = std::make_unique<storage::PgKeyStore>(**db);
    auto audit = std::make_unique<storage::PgAuditStore>(**db);
    s.pg_audit = audit.get();
    s.audit = std::move(audit);
    s.assistants = std::move(assistants);
    s.db = std::move(*db);
    s.description = config::RedactUrl(target->location);
    return s;
  }
  const auto dir = std::filesystem::path(target->location).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Fail(ErrorCode::kUnavailable, "storage_unavailable",
                "cannot create " + dir.string() + ": " + ec.message());
  }
  auto db = storage::SqliteDatabase::Open({.path = target->location,
                                           .pool_size = pool_size,
                                           .busy_timeout_ms = 5000,
                                           .metrics = metrics},
                                          logs.Make("storage"));
  if (!db) return tl::unexpected(db.error());
  if (auto applied = (*db)->Migrate(); !applied) return tl::unexpected(applied.error());
  auto assistants = std::make_unique<storage::SqliteAssistantStore>(**db);
  s.sync = std::make_unique<storage::SqliteSyncStore>(**db, *assistants);
  s.users = std::make_unique<storage::SqliteUserStore>(**db);
  s.keys = std::make_unique<storage::SqliteKeyStore>(**db);
  s.audit = std::make_unique<storage::SqliteAuditStore>(**db);
  s.assistants = std::move(assistants);
  s.db = std::move(*db);
  s.description = target->location;
  s.single_process = true;
  return s;
}

std::optional<std::string> EnvVapiKey() {
  const char* key = std::getenv("VAPI_API_KEY");
  return key && *key ? std::optional<std::string>(key) : std::nullopt;
}

sync::SyncSettings SyncSettingsFor(const config::ServeConfig& c, std::string instance_id) {
  sync::SyncSettings s;
  s.workers = c.sync_workers;
  s.max_attempts = c.sync_max_attempts;
  s.backoff.base_us = int64_t{c.sync_backoff_base_ms} * 1000;
  s.backoff.cap_us = int64_t{c.sync_backoff_cap_ms} * 1000;
  s.breaker_threshold = c.breaker_threshold;
  s.breaker_open_us = int64_t{c.breaker_open_ms} * 1000;
  s.instance_id = std::move(instance_id);
  return s;
}

vapi::CurlSettings CurlSettingsFor(const config::ServeConfig& c) {
  vapi::CurlSettings s;
  s.base_url = c.vapi_base_url;
  return s;
}

// The sync engine over the stores, as `serve` and `reconcile` both use it.
struct SyncStack {
  SyncStack(const config::ServeConfig& c, Storage& storage, const auth::SecretBox& box,
            const Clock& clock, const LogFactory& logs, MetricsRegistry& metrics,
            const std::string& instance_id)
      : vapi_client(CurlSettingsFor(c), clock, logs.Make("vapi")),
        has_env_key(EnvVapiKey().has_value()),
        keys(*storage.keys, box, EnvVapiKey(), logs.Make("sync")),
        worker(*storage.sync, vapi_client, keys, clock, SyncSettingsFor(c, instance_id),
               logs.Make("sync"), metrics),
        reconciler(*storage.sync, vapi_client, keys, worker, clock, instance_id,
                   logs.Make("reconcile"), metrics) {}

  static Result<std::unique_ptr<SyncStack>> Make(const config::ServeConfig& c, Storage& storage,
                                                 const auth::SecretBox& box, const Clock& clock,
                                                 const LogFactory& logs, MetricsRegistry& metrics) {
    auto instance = storage.sync->InstanceId();
    if (!instance) return tl::unexpected(instance.error());
    return std::make_unique<SyncStack>(c, storage, box, clock, logs, metrics, *instance);
  }

  vapi::CurlVapiClient vapi_client;
  bool has_env_key;
  sync::StoredKeySource keys;
  sync::SyncWorker worker;
  sync::Reconciler reconciler;
};

// Raises the open-files limit to its hard maximum (each connection is a descriptor) and gives
// the connection limit: --max-connections, or 3/4 of the descriptors (the rest for the
// database, files and pipes).
size_t ConnectionLimit(const config::ServeConfig& c, const Logger& log) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  const size_t descriptors = files.rlim_cur == RLIM_INFINITY ? 1'000'000 : files.rlim_cur;
  const size_t automatic = std::max<size_t>(16, descriptors * 3 / 4);
  if (c.max_connections == 0) return automatic;
  const auto wanted = static_cast<size_t>(c.max_connections);
  if (wanted > descriptors) {
    LogEvent(log, spdlog::level::warn,
             "--max-connections is above the open-files limit: accepts will fail before it is "
             "reached",
             {{"maxConnections", wanted}, {"openFilesLimit", descriptors}});
  }
  return wanted;
}

}  // namespace

int RunServe(const config::ServeConfig& c) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  const Logger log = logs.Make("app");
  domain::VapiSchema();  // compiled now, not by the first write that needs it
  const auto listen = config::ParseListen(c.listen);
  auto secret = config::ResolveJwtSecret(c, log);
  if (!secret) return Die(secret.error());
  auto master_key = config::ResolveMasterKey(c, log);
  if (!master_key) return Die(master_key.error());
  const auth::SecretBox box(std::move(*master_key));

  const auto reconcile_interval = config::ParseInterval(c.reconcile_interval);
  if (!reconcile_interval) return Die(reconcile_interval.error());
  const int io_threads = c.threads > 0 ? c.threads : config::DefaultThreads();
  const int workers = WorkerThreads(c, io_threads);
  // Handler threads and sync workers each hold a connection while they work.
  const int pool =
      c.database_pool_size > 0 ? c.database_pool_size : workers + std::max(1, c.sync_workers) + 1;
  SystemClock clock;
  MetricsRegistry metrics;
  // Keys first: an unusable --jwks-url stops the start before the database is touched.
  auto keys = KeySetup::Make(c, std::move(*secret), clock, logs, metrics, /*watch=*/true);
  if (!keys) return Die(keys.error());
  auto store = OpenStorage(c, pool, logs, &metrics);
  if (!store) return Die(store.error());

  auto stack = SyncStack::Make(c, *store, box, clock, logs, metrics);
  if (!stack) return Die(stack.error());
  auto& assistants = *store->assistants;
  auto& sync_store = *store->sync;
  auto& key_store = *store->keys;
  auto& users = *store->users;
  auto& worker = (*stack)->worker;
  // SQLite is one process: a job still marked running was interrupted by our own crash. On
  // PostgreSQL other instances may be running jobs; their leases decide.
  if (store->single_process) {
    if (auto r = sync_store.RequeueRunning(clock.NowMicros()); !r) return Die(r.error());
  }
  const auto overview_gauge = [&sync_store](auto pick) {
    return [&sync_store, pick] {
      const auto o = sync_store.Overview();
      return o ? pick(*o) : std::nan("");
    };
  };
  metrics.DeclareGauge("assistantd_sync_queue_depth", "Sync jobs waiting to run",
                       overview_gauge([](const storage::SyncOverview& o) {
                         return static_cast<double>(o.queued + o.running);
                       }));
  metrics.DeclareGauge(
      "assistantd_sync_dead_jobs", "Dead-lettered sync jobs",
      overview_gauge([](const storage::SyncOverview& o) { return static_cast<double>(o.dead); }));

  auto limit_settings = LimitsSettingsFor(c);
  if (!limit_settings) return Die(limit_settings.error());
  std::unique_ptr<limits::RateLimiter> limiter;
  if (c.redis_url.empty()) {
    limiter = std::make_unique<limits::LocalRateLimiter>(clock);
  } else {
    auto redis_settings = limits::ParseRedisUrl(c.redis_url);
    if (!redis_settings) return Die(redis_settings.error());
    redis_settings->key_prefix = c.redis_key_prefix;
    auto redis = std::make_unique<limits::RedisRateLimiter>(std::move(*redis_settings), clock,
                                                            logs.Make("limits"), metrics);
    if (auto r = redis->Check(); !r) return Die(r.error());
    limiter = std::move(redis);
  }
  const auth::JwtSettings& jwt_settings = (*keys)->settings;
  const auth::JwtVerifier& verifier = *(*keys)->verifier;
  const auth::PasswordHasher hasher;
  audit::AuditLog audit_log(clock, metrics);
  if (store->pg_audit) store->pg_audit->StartSealer(logs.Make("audit"));
  api::TokenAuthenticator authenticator(verifier, users, clock, config::OwnIssuer(c),
                                        (*keys)->signing.get());
  const api::AuthSettings auth_settings = AuthSettingsFor(c, jwt_settings);
  api::AuthApi auth_api(auth_settings, users, verifier, hasher, *limiter, *limit_settings,
                        audit_log, authenticator, *(*keys)->signing, clock);
  api::ProfileApi profile_api(users, *store->audit, audit_log, clock);
  api::RequestLimits request_limits(*limiter, *limit_settings);
  // Handlers run here; asynchronous ones (writes awaiting their group commit) are completed
  // here too.
  http::WorkerPool handler_pool(workers);
  sync::OutcomeWaiter waiter(sync_store, worker,
                             {.max_waits = c.max_waits, .max_waits_per_user = c.max_waits_per_user},
                             metrics);
  api::AssistantsApi assistants_api(
      assistants, authenticator, worker, waiter, box, *limit_settings, audit_log, clock,
      [&handler_pool](std::function<void()> task) { handler_pool.Post(std::move(task)); });
  api::UserAdmin user_admin(users, authenticator, worker, hasher, audit_log, clock);
  api::AdminApi admin_api(user_admin, auth_settings.password);
  api::GoTrueAdminApi gotrue_admin_api(user_admin, authenticator, auth_settings.password);
  auto& reconciler = (*stack)->reconciler;
  api::SyncApi sync_api(assistants, sync_store, worker, box, clock,
                        [&reconciler](bool dry_run, bool repair_drift) {
                          return reconciler.Run({dry_run, repair_drift});
                        });
  api::KeysApi keys_api(key_store, sync_store, worker, box, audit_log, clock);
  api::HealthApi health_api(*store->db, metrics);

  http::Router router;
  assistants_api.Register(router);
  sync_api.Register(router);
  keys_api.Register(router);
  admin_api.Register(router);
  gotrue_admin_api.Register(router);
  auth_api.Register(router);
  profile_api.Register(router);
  health_api.Register(router);
  http::Pipeline pipeline(router, authenticator, &request_limits, metrics, logs.Make("http"),
                          clock);

  http::ServerSettings settings;
  settings.host = listen->host;
  settings.port = listen->port;
  settings.io_threads = io_threads;
  settings.worker_threads = workers;
  settings.max_body_bytes = c.max_body_bytes;
  settings.shutdown_timeout = std::chrono::seconds(c.shutdown_timeout_seconds);
  settings.trusted_proxies = config::SplitList(c.trusted_proxies);
  settings.max_connections = ConnectionLimit(c, log);
  settings.max_connections_per_ip = static_cast<size_t>(c.max_connections_per_ip);
  settings.metrics = &metrics;
  settings.inline_paths = {"/healthz"};
  settings.priority_paths = {"/readyz"};
  http::Server server(
      settings,
      http::RequestHandler(
          [&pipeline](http::Request r, std::function<void(http::Response)> respond) {
            pipeline.Handle(std::move(r), std::move(respond));
          }),
      logs.Make("http"), &handler_pool);
  server.OnShutdown([&waiter] { waiter.Stop(); });
  auto port = server.Listen();
  if (!port) return Die(port.error());
  LogEvent(log, spdlog::level::info, "listening",
           {{"address", listen->host + ":" + std::to_string(*port)},
            {"ioThreads", io_threads},
            {"workerThreads", workers},
            {"maxConnections", settings.max_connections},
            {"syncWorkers", c.sync_workers},
            {"vapiBaseUrl", c.vapi_base_url},
            {"jwtSigningAlgorithm", (*keys)->signing->SigningAlgorithm()},
            {"version", kVersion}});
  worker.Start();
  reconciler.StartPeriodic(*reconcile_interval * 1'000'000, {false, c.reconcile_repair_drift});
  if (!(*stack)->has_env_key) {
    LogEvent(log, spdlog::level::info,
             "VAPI_API_KEY is not set: assistants sync with a stored key (PUT /v1/config/vapi-key) "
             "or stay pending until one is configured");
  }
  const bool clean = server.Run();
  // Writes still queued complete before the handlers that wait for them go away; so do open
  // waits for sync outcomes.
  store->db->StopWrites();
  waiter.Stop();
  reconciler.Stop();
  worker.Stop();
  LogEvent(log, spdlog::level::info, "stopped", {{"clean", clean}});
  return 0;
}

int RunReconcile(const config::ServeConfig& c, const ReconcileOptions& o) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  const Logger log = logs.Make("app");
  auto master_key = config::ResolveMasterKey(c, log);
  if (!master_key) return Die(master_key.error());
  const auth::SecretBox box(std::move(*master_key));
  auto store = OpenStorage(c, 2, logs);
  if (!store) return Die(store.error());
  SystemClock clock;
  MetricsRegistry metrics;
  auto stack = SyncStack::Make(c, *store, box, clock, logs, metrics);
  if (!stack) return Die(stack.error());
  auto summary = (*stack)->reconciler.Run({o.dry_run, o.repair_drift});
  if (!summary) return Die(summary.error());
  if (!o.dry_run) {
    // Run the jobs just queued (and any other due job) now, with the same engine as serve;
    // jobs that must wait for a retry are left to serve's workers.
    int64_t ran = 0;
    while ((*stack)->worker.RunOnce()) ++ran;
    auto overview = store->sync->Overview();
    if (!overview) return Die(overview.error());
    (*summary)["jobsRun"] = ran;
    (*summary)["jobsLeftQueued"] = overview->queued + overview->running;
  }
  std::printf("%s\n", summary->dump(2).c_str());
  return (*summary)["complete"].get<bool>() ? 0 : 2;
}

int RunExport(const config::ServeConfig& c, const std::string& output) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 2, logs);
  if (!store) return Die(store.error());
  SystemClock clock;
  Result<nlohmann::json> counts;
  if (output == "-") {
    counts = ExportAll(*store->users, *store->keys, *store->sync, clock, std::cout);
  } else {
    // Written next to its final name and renamed, so a failed export leaves no partial file.
    const std::string partial = output + ".partial";
    std::ofstream out(partial, std::ios::trunc);
    if (!out) return Die("cannot write " + partial);
    counts = ExportAll(*store->users, *store->keys, *store->sync, clock, out);
    out.close();
    std::error_code ec;
    if (counts) std::filesystem::rename(partial, output, ec);
    if (!counts || ec) std::filesystem::remove(partial, ec);
  }
  if (!counts) return Die(counts.error());
  std::fprintf(stderr, "assistantd: exported %s\n", counts->dump().c_str());
  return 0;
}

int RunImport(const config::ServeConfig& c, const std::string& input) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 2, logs);
  if (!store) return Die(store.error());
  auto counts = ImportAll(input, *store->users, *store->assistants, *store->keys, *store->sync);
  if (!counts) return Die(counts.error());
  std::fprintf(stderr, "assistantd: imported %s into %s\n", counts->dump().c_str(),
               store->description.c_str());
  return 0;
}

int RunMigrate(const config::ServeConfig& c) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 1, logs);
  if (!store) return Die(store.error());
  std::printf("database %s is at schema version %d\n", store->description.c_str(),
              store->db->LatestSchemaVersion());
  return 0;
}

int RunToken(const config::ServeConfig& c, const TokenOptions& o) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  if (o.role != "anon" && !domain::ParseRole(o.role)) {
    return Die("--role must be user, authenticated, premium, test, admin or service_role");
  }
  std::optional<std::string> sub;
  if (o.sub) {
    sub = NormalizeUuid(*o.sub);
    if (!sub) return Die("--sub must be a UUID");
  } else if (o.role != "service_role") {
    return Die("--sub is required (except for --role service_role)");
  }
  auto ttl = config::ParseDuration(o.ttl);
  if (!ttl) return Die(ttl.error());
  LogFactory logs(c.log_level == "info" ? "warn" : c.log_level);
  auto secret = config::ResolveJwtSecret(c, logs.Make("app"));
  if (!secret) return Die(secret.error());
  SystemClock clock;
  MetricsRegistry metrics;
  auto keys = KeySetup::Make(c, std::move(*secret), clock, logs, metrics, /*watch=*/false);
  if (!keys) return Die(keys.error());
  std::printf("%s\n", (*keys)
                          ->signing
                          ->SignJwt(auth::MakeClaims((*keys)->settings, sub, o.role, o.email,
                                                     clock.NowSeconds(), *ttl))
                          .c_str());
  return 0;
}

namespace {

// Finds the account, applies `change` and writes it back (an audit entry records the change,
// made by the operator's command line).
int ChangeAccount(const config::ServeConfig& c, const UserOptions& o, const std::string& action,
                  const std::function<void(domain::User&)>& change) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 1, logs);
  if (!store) return Die(store.error());
  auto email = domain::NormalizeEmail(nlohmann::json(o.email));
  if (!email) return Die(email.error());
  auto found = store->users->FindAccountByEmail(*email);
  if (!found) return Die(found.error());
  if (!*found) return Die("no account has the e-mail " + *email);
  SystemClock clock;
  MetricsRegistry metrics;
  const domain::User before = **found;
  domain::User user = before;
  change(user);
  user.updated_at_us = clock.NowMicros();
  audit::AuditLog audit_log(clock, metrics);
  auto updated = store->users->UpdateUser(
      user, audit_log.Entry({std::nullopt, "operator", "cli-" + NewUuid(), "local"},
                            {action, "user", user.id, user.id, api::AdminUserJson(before),
                             api::AdminUserJson(user)}));
  if (!updated) return Die(updated.error());
  std::printf("%s\n", api::AdminUserJson(user).dump().c_str());
  return 0;
}

}  // namespace

int RunUserConfirm(const config::ServeConfig& c, const UserOptions& o) {
  return ChangeAccount(c, o, "user.confirm", [&](domain::User& u) {
    if (!u.email_confirmed_at_us) u.email_confirmed_at_us = SystemClock().NowMicros();
  });
}

int RunUserSetRole(const config::ServeConfig& c, const UserOptions& o) {
  const auto role = domain::ParseRole(o.role);
  if (!role || *role == domain::Role::kServiceRole) {
    return Die("--role must be user, premium, test or admin");
  }
  return ChangeAccount(c, o, "user.role_change", [&](domain::User& u) { u.role = *role; });
}

int RunAuditVerify(const config::ServeConfig& c) {
  if (auto v = config::Validate(c); !v) return Die(v.error());
  LogFactory logs(c.log_level);
  auto store = OpenStorage(c, 1, logs);
  if (!store) return Die(store.error());
  auto report = audit::VerifyChain(*store->audit);
  if (!report) return Die(report.error());
  // Entries committed but not sealed yet (PostgreSQL, between a change and the sealer): not
  // part of the chain checked here; a running server seals them within a second.
  auto unsealed = store->audit->UnsealedCount();
  if (!unsealed) return Die(unsealed.error());
  nlohmann::json out = {{"ok", report->ok}, {"entries", report->entries}, {"unsealed", *unsealed}};
  if (report->ok) {
    out["headHash"] = report->head_hash;
  } else {
    out["firstBadSeq"] = report->first_bad_seq;
    out["problem"] = report->problem;
  }
  std::printf("%s\n", out.dump().c_str());
  return report->ok ? 0 : 2;
}

}  // namespace assistantd::app
