#pragma once

// The pieces every command builds from the configuration: limits, auth settings, the storage
// and the sync engine over it.

#include <memory>
#include <string>

#include "api/auth_api.hpp"
#include "auth/secret_box.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "config/config.hpp"
#include "limits/limits_policy.hpp"
#include "storage/postgres/pg_audit_store.hpp"
#include "storage/storage.hpp"
#include "sync/key_source.hpp"
#include "sync/reconciler.hpp"
#include "sync/sync_worker.hpp"
#include "vapi/curl_vapi_client.hpp"

namespace assistantd::app {

Result<limits::LimitsSettings> LimitsSettingsFor(const config::ServeConfig& c);
api::AuthSettings AuthSettingsFor(const config::ServeConfig& c, const auth::JwtSettings& jwt);
// --worker-threads, else twice the I/O threads (at least 4).
int WorkerThreads(const config::ServeConfig& c, int io_threads);

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

struct OpenOptions {
  // Gets the write batches' metrics (the server's; commands have none).
  MetricsRegistry* metrics = nullptr;
  // The process changes assistant rows (serve, reconcile, import); on SQLite it must then be
  // the only such process (SqliteSettings::exclusive).
  bool writes_assistants = false;
  // Applies pending migrations (and refuses a schema too new for this release) first.
  bool migrate = true;
};
Result<Storage> OpenStorage(const config::ServeConfig& c, int pool_size, const LogFactory& logs,
                            const OpenOptions& o = {});

// The sync engine over the stores, as `serve` and `reconcile` both use it.
struct SyncStack {
  SyncStack(const config::ServeConfig& c, Storage& storage, const auth::SecretBox& box,
            const Clock& clock, const LogFactory& logs, MetricsRegistry& metrics,
            const std::string& instance_id);
  static Result<std::unique_ptr<SyncStack>> Make(const config::ServeConfig& c, Storage& storage,
                                                 const auth::SecretBox& box, const Clock& clock,
                                                 const LogFactory& logs, MetricsRegistry& metrics);

  vapi::CurlVapiClient vapi_client;
  bool has_env_key;
  sync::StoredKeySource keys;
  sync::SyncWorker worker;
  sync::Reconciler reconciler;
};

}  // namespace assistantd::app
