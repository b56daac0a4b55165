#include "app/service.hpp"

#include <cmath>
#include <optional>
#include <utility>

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
#include "api/user_admin.hpp"
#include "app/backup.hpp"
#include "app/commands.hpp"
#include "app/key_setup.hpp"
#include "app/wiring.hpp"
#include "audit/audit_log.hpp"
#include "audit/chain_watch.hpp"
#include "auth/secret_box.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/process_metrics.hpp"
#include "config/deployment.hpp"
#include "domain/vapi_schema.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"
#include "limits/local_rate_limiter.hpp"
#include "limits/redis_rate_limiter.hpp"
#include "sync/outcome_waiter.hpp"

namespace assistantd::app {

// The parts in the order they are built; destroyed in reverse, so each goes before what it
// uses. Those built from a fallible step are filled in by Make.
struct Service::Parts {
  explicit Parts(const config::ServeConfig& c)
      : config(c), logs(c.log_level), log(logs.Make("app")) {}

  config::ServeConfig config;
  LogFactory logs;
  Logger log;
  SystemClock clock;
  MetricsRegistry metrics;
  int io_threads = 1;
  int workers = 1;
  int64_t reconcile_interval_seconds = 0;
  std::optional<auth::SecretBox> box;
  std::unique_ptr<KeySetup> keys;
  // Before the storage: its change feed writes to the cache until the database closes.
  std::optional<api::AssistantCache> cache;
  Storage store;
  std::unique_ptr<SyncStack> stack;
  std::optional<BackupScheduler> backups;  // SQLite
  std::optional<audit::ChainWatch> chain_watch;
  int64_t audit_verify_interval_seconds = 0;
  limits::LimitsSettings limit_settings;
  std::unique_ptr<limits::RateLimiter> limiter;
  std::optional<auth::PasswordHasher> hasher;
  std::optional<audit::AuditLog> audit_log;
  std::optional<api::TokenAuthenticator> authenticator;
  api::AuthSettings auth_settings;
  std::optional<api::AuthApi> auth_api;
  std::optional<api::ProfileApi> profile_api;
  std::optional<api::RequestLimits> request_limits;
  // Handlers run here; asynchronous ones (writes awaiting their group commit) complete here.
  std::optional<http::WorkerPool> handler_pool;
  std::optional<sync::OutcomeWaiter> waiter;
  std::optional<api::AssistantsApi> assistants_api;
  std::optional<api::UserAdmin> user_admin;
  std::optional<api::AdminApi> admin_api;
  std::optional<api::GoTrueAdminApi> gotrue_admin_api;
  std::optional<api::SyncApi> sync_api;
  std::optional<api::KeysApi> keys_api;
  std::optional<api::HealthApi> health_api;
  http::Router router;
  std::optional<http::Pipeline> pipeline;
  bool started = false;
  bool stopped = false;

  // Declares the gauges read from the sync queue.
  void DeclareSyncGauges() {
    auto& sync_store = *store.sync;
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
    metrics.DeclareGauge("assistantd_sync_oldest_queued_age_seconds",
                         "Age of the oldest sync job waiting to run (0: none)",
                         overview_gauge([this](const storage::SyncOverview& o) {
                           if (!o.oldest_queued_at_us) return 0.0;
                           return static_cast<double>(clock.NowMicros() - *o.oldest_queued_at_us) /
                                  1e6;
                         }));
  }

  // The process, the build and whether the database answers, for dashboards and alerts.
  void DeclareServiceGauges() {
    DeclareProcessMetrics(metrics, kVersion);
    metrics.DeclareGauge("assistantd_database_up",
                         "1 when the database answers and is migrated (as /readyz), else 0",
                         [db = store.db.get()] { return db->CheckReady() ? 1.0 : 0.0; });
  }

  Result<void> MakeLimiter() {
    const auto& c = config;
    if (c.redis_url.empty()) {
      limiter = std::make_unique<limits::LocalRateLimiter>(clock);
      return {};
    }
    auto redis_settings = limits::ParseRedisUrl(c.redis_url);
    if (!redis_settings) return tl::unexpected(redis_settings.error());
    redis_settings->key_prefix = c.redis_key_prefix;
    auto redis = std::make_unique<limits::RedisRateLimiter>(std::move(*redis_settings), clock,
                                                            logs.Make("limits"), metrics);
    if (auto r = redis->Check(); !r) return tl::unexpected(r.error());
    limiter = std::move(redis);
    return {};
  }

  // The APIs over the stores, registered on the router, and the request path.
  void MakeApis(const Options& options) {
    const auto& c = config;
    const auth::JwtVerifier& verifier = *keys->verifier;
    hasher.emplace(options.password_hashing.value_or(auth::PasswordSettings{}));
    audit_log.emplace(clock, metrics);
    if (store.pg_audit) store.pg_audit->StartSealer(logs.Make("audit"));
    authenticator.emplace(verifier, *store.users, clock, config::OwnIssuer(c), keys->signing.get());
    auth_settings = AuthSettingsFor(c, keys->settings);
    auth_api.emplace(auth_settings, *store.users, verifier, *hasher, *limiter, limit_settings,
                     *audit_log, *authenticator, *keys->signing, clock);
    profile_api.emplace(*store.users, *store.audit, *audit_log, clock);
    request_limits.emplace(*limiter, limit_settings);
    handler_pool.emplace(workers);
    auto& worker = stack->worker;
    waiter.emplace(
        *store.sync, worker,
        sync::WaiterSettings{.max_waits = c.max_waits, .max_waits_per_user = c.max_waits_per_user},
        metrics);
    assistants_api.emplace(
        *store.assistants, *authenticator, worker, *waiter, *box, limit_settings, *audit_log, clock,
        [this](std::function<void()> task) { handler_pool->Post(std::move(task)); },
        c.require_if_match, cache ? &*cache : nullptr, store.db->ChangeFeed());
    user_admin.emplace(*store.users, *authenticator, worker, *hasher, *audit_log, clock);
    admin_api.emplace(*user_admin, auth_settings.password);
    gotrue_admin_api.emplace(*user_admin, *authenticator, auth_settings.password);
    auto& reconciler = stack->reconciler;
    sync_api.emplace(
        *store.assistants, *store.sync, worker, *box, clock,
        [&reconciler](bool dry_run, bool repair_drift) {
          return reconciler.Run({dry_run, repair_drift});
        },
        c.require_if_match);
    keys_api.emplace(*store.keys, *store.sync, worker, *box, *audit_log, clock);
    health_api.emplace(*store.db, metrics);

    assistants_api->Register(router);
    sync_api->Register(router);
    keys_api->Register(router);
    admin_api->Register(router);
    gotrue_admin_api->Register(router);
    auth_api->Register(router);
    profile_api->Register(router);
    health_api->Register(router);
    pipeline.emplace(router, *authenticator, &*request_limits, metrics, logs.Make("http"), clock);
  }
};

Result<std::unique_ptr<Service>> Service::Make(const config::ServeConfig& c, Options options) {
  if (auto v = config::Validate(c); !v) return tl::unexpected(v.error());
  auto parts = std::make_unique<Parts>(c);
  auto& p = *parts;
  const config::Profile profile = config::ParseProfile(c.profile).value_or(config::Profile::kNone);
  std::string refused;
  for (const auto& f : config::CheckDeployment(c, profile)) {
    if (f.error && profile == config::Profile::kProduction) {
      refused += (refused.empty() ? "" : "; ") + f.message + " [" + f.code + "]";
    } else {
      LogEvent(p.log, spdlog::level::warn, "unsafe setting",
               {{"profile", config::ToString(profile)}, {"code", f.code}, {"why", f.message}});
    }
  }
  if (!refused.empty()) {
    return Fail(
        ErrorCode::kInvalidInput, "invalid_config",
        "--profile production refuses these settings (assistantd check-config): " + refused);
  }
  domain::VapiSchema();  // compiled now, not by the first write that needs it
  auto secret = config::ResolveJwtSecret(c, p.log);
  if (!secret) return tl::unexpected(secret.error());
  auto master_keys = config::ResolveMasterKeys(c, p.log);
  if (!master_keys) return tl::unexpected(master_keys.error());
  p.box.emplace(std::move(master_keys->current), std::move(master_keys->accepted));
  const auto reconcile_interval = config::ParseInterval(c.reconcile_interval);
  if (!reconcile_interval) return tl::unexpected(reconcile_interval.error());
  p.reconcile_interval_seconds = *reconcile_interval;
  p.io_threads = c.threads > 0 ? c.threads : config::DefaultThreads();
  p.workers = WorkerThreads(c, p.io_threads);
  // Handler threads and sync workers each hold a connection while they work.
  const int pool =
      c.database_pool_size > 0 ? c.database_pool_size : p.workers + std::max(1, c.sync_workers) + 1;
  // Keys first: an unusable --jwks-url stops the start before the database is touched.
  auto keys = KeySetup::Make(c, std::move(*secret), p.clock, p.logs, p.metrics, /*watch=*/true);
  if (!keys) return tl::unexpected(keys.error());
  p.keys = std::move(*keys);
  auto store = OpenStorage(c, pool, p.logs, {.metrics = &p.metrics, .writes_assistants = true});
  if (!store) return tl::unexpected(store.error());
  p.store = std::move(*store);
  if (profile != config::Profile::kNone) {
    auto recorded = p.store.sync->ClaimProfile(config::ToString(profile));
    if (!recorded) return tl::unexpected(recorded.error());
    if (*recorded != config::ToString(profile)) {
      return Fail(ErrorCode::kInvalidInput, "profile_mismatch",
                  "the database " + p.store.description + " serves the " + *recorded +
                      " deployment; a " + config::ToString(profile) +
                      " server refuses it (one database per profile)");
    }
  }
  if (auto* feed = p.store.db->ChangeFeed(); feed && c.cache_size_mib > 0) {
    p.cache.emplace(static_cast<size_t>(c.cache_size_mib) << 20, &p.metrics);
    if (auto r = feed->Start(*p.cache); !r) return tl::unexpected(r.error());
  }
  auto stack = SyncStack::Make(c, p.store, *p.box, p.clock, p.logs, p.metrics);
  if (!stack) return tl::unexpected(stack.error());
  p.stack = std::move(*stack);
  // SQLite is one process: a job still marked running was interrupted by our own crash. On
  // PostgreSQL other instances may be running jobs; their leases decide.
  if (p.store.single_process) {
    if (auto r = p.store.sync->RequeueRunning(p.clock.NowMicros()); !r) {
      return tl::unexpected(r.error());
    }
  }
  p.DeclareSyncGauges();
  p.DeclareServiceGauges();
  const auto audit_interval = config::ParseInterval(c.audit_verify_interval);
  p.audit_verify_interval_seconds = *audit_interval;
  p.chain_watch.emplace(*p.store.audit, p.clock, p.logs.Make("audit"), p.metrics);
  if (!config::ResolveDatabase(c)->postgres) {
    const auto interval = config::ParseInterval(c.backup_interval);
    p.backups.emplace(BackupScheduler::Settings{config::BackupDir(c), *interval, c.backup_keep},
                      *p.store.db, p.clock, p.logs.Make("backup"), p.metrics);
  }
  auto limit_settings = LimitsSettingsFor(c);
  if (!limit_settings) return tl::unexpected(limit_settings.error());
  p.limit_settings = *limit_settings;
  if (auto r = p.MakeLimiter(); !r) return tl::unexpected(r.error());
  p.MakeApis(options);
  return std::unique_ptr<Service>(new Service(std::move(parts)));
}

Service::Service(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Service::~Service() { Stop(); }

void Service::Handle(http::Request request, std::function<void(http::Response)> respond) {
  parts_->pipeline->Handle(std::move(request), std::move(respond));
}

http::RequestHandler Service::Handler() {
  return [this](http::Request r, std::function<void(http::Response)> respond) {
    Handle(std::move(r), std::move(respond));
  };
}

http::WorkerPool& Service::HandlerPool() { return *parts_->handler_pool; }

http::ServerSettings Service::ServerSettings() const {
  const auto& c = parts_->config;
  const auto listen = config::ParseListen(c.listen);
  http::ServerSettings settings;
  settings.host = listen->host;
  settings.port = listen->port;
  settings.io_threads = parts_->io_threads;
  settings.worker_threads = parts_->workers;
  settings.max_body_bytes = c.max_body_bytes;
  settings.shutdown_timeout = std::chrono::seconds(c.shutdown_timeout_seconds);
  settings.trusted_proxies = config::SplitList(c.trusted_proxies);
  settings.max_connections_per_ip = static_cast<size_t>(c.max_connections_per_ip);
  settings.metrics = &parts_->metrics;
  settings.inline_paths = {"/healthz"};
  settings.inline_first = [pipeline = &*parts_->pipeline](
                              http::Request request, std::function<void(http::Response)> respond,
                              std::function<void(std::function<void()>)> offload) {
    pipeline->HandleInline(std::move(request), std::move(respond), std::move(offload));
  };
  settings.priority_paths = {"/readyz"};
  return settings;
}

const LogFactory& Service::Logs() const { return parts_->logs; }

void Service::Start(uint16_t port, size_t max_connections) {
  auto& p = *parts_;
  const auto& c = p.config;
  const auto listen = config::ParseListen(c.listen);
  LogEvent(p.log, spdlog::level::info, "listening",
           {{"address", listen->host + ":" + std::to_string(port)},
            {"ioThreads", p.io_threads},
            {"workerThreads", p.workers},
            {"maxConnections", max_connections},
            {"syncWorkers", c.sync_workers},
            {"vapiBaseUrl", c.vapi_base_url},
            {"jwtSigningAlgorithm", p.keys->signing->SigningAlgorithm()},
            {"version", kVersion}});
  LogEvent(p.log, spdlog::level::debug, "routes", {{"routes", p.router.Table()}});
  p.started = true;
  p.stack->worker.Start();
  p.stack->reconciler.StartPeriodic(p.reconcile_interval_seconds * 1'000'000,
                                    {false, c.reconcile_repair_drift});
  if (p.backups) p.backups->Start();
  p.chain_watch->Start(p.audit_verify_interval_seconds);
  if (!p.stack->has_env_key) {
    LogEvent(p.log, spdlog::level::info,
             "VAPI_API_KEY is not set: assistants sync with a stored key (PUT /v1/config/vapi-key) "
             "or stay pending until one is configured");
  }
}

void Service::BeginShutdown() { parts_->waiter->Stop(); }

void Service::Stop() {
  auto& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  if (p.backups) p.backups->Stop();  // a backup under way completes first
  p.chain_watch->Stop();
  // Writes still queued complete before the handlers that wait for them go away; so do open
  // waits for sync outcomes.
  p.store.db->StopWrites();
  p.waiter->Stop();
  p.stack->reconciler.Stop();
  p.stack->worker.Stop();
}

}  // namespace assistantd::app
