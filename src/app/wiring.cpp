#include "app/wiring.hpp"

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "storage/postgres/pg_assistant_store.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_sync_store.hpp"
#include "storage/postgres/pg_user_store.hpp"
#include "storage/sqlite/sqlite_assistant_store.hpp"
#include "storage/sqlite/sqlite_audit_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/sqlite_key_store.hpp"
#include "storage/sqlite/sqlite_sync_store.hpp"
#include "storage/sqlite/sqlite_user_store.hpp"

namespace assistantd::app {

namespace {

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

}  // namespace

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

Result<Storage> OpenStorage(const config::ServeConfig& c, int pool_size, const LogFactory& logs,
                            const OpenOptions& o) {
  auto target = config::ResolveDatabase(c);
  if (!target) return tl::unexpected(target.error());
  Storage s;
  if (target->postgres) {
    auto db = storage::PgDatabase::Open(
        {.url = target->location, .pool_size = pool_size, .metrics = o.metrics},
        logs.Make("storage"));
    if (!db) return tl::unexpected(db.error());
    if (o.migrate) {
      if (auto applied = (*db)->Migrate(); !applied) return tl::unexpected(applied.error());
    }
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
                                           .metrics = o.metrics,
                                           .exclusive = o.writes_assistants},
                                          logs.Make("storage"));
  if (!db) return tl::unexpected(db.error());
  if (o.migrate) {
    if (auto applied = (*db)->Migrate(); !applied) return tl::unexpected(applied.error());
  }
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

SyncStack::SyncStack(const config::ServeConfig& c, Storage& storage, const auth::SecretBox& box,
                     const Clock& clock, const LogFactory& logs, MetricsRegistry& metrics,
                     const std::string& instance_id)
    : vapi_client(CurlSettingsFor(c), clock, logs.Make("vapi")),
      has_env_key(EnvVapiKey().has_value()),
      keys(*storage.keys, box, EnvVapiKey(), logs.Make("sync")),
      worker(*storage.sync, vapi_client, keys, clock, SyncSettingsFor(c, instance_id),
             logs.Make("sync"), metrics),
      reconciler(*storage.sync, vapi_client, keys, worker, clock, instance_id,
                 logs.Make("reconcile"), metrics) {}

Result<std::unique_ptr<SyncStack>> SyncStack::Make(const config::ServeConfig& c, Storage& storage,
                                                   const auth::SecretBox& box, const Clock& clock,
                                                   const LogFactory& logs,
                                                   MetricsRegistry& metrics) {
  auto instance = storage.sync->InstanceId();
  if (!instance) return tl::unexpected(instance.error());
  return std::make_unique<SyncStack>(c, storage, box, clock, logs, metrics, *instance);
}

}  // namespace assistantd::app
