#pragma once

#include "audit/audit_log.hpp"
#include "auth/secret_box.hpp"
#include "common/clock.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::api {

// PUT/GET/DELETE /v1/config/vapi-key: a user's own Vapi key, or with ?scope=global (admins)
// the global one. Write-only: reads answer only a masked form. Storing a key makes the sync
// jobs it serves due at once (those waiting for a key no longer wait for their next retry).
class KeysApi {
 public:
  KeysApi(storage::KeyStore& keys, storage::SyncStore& sync, sync::SyncNotifier& notifier,
          const auth::SecretBox& box, audit::AuditLog& audit, const Clock& clock)
      : keys_(keys), sync_(sync), notifier_(notifier), box_(box), audit_(audit), clock_(clock) {}

  void Register(http::Router& router);
  Result<http::Response> Put(http::RequestContext& ctx);
  Result<http::Response> Get(http::RequestContext& ctx);
  Result<http::Response> Delete(http::RequestContext& ctx);

 private:
  storage::KeyStore& keys_;
  storage::SyncStore& sync_;
  sync::SyncNotifier& notifier_;
  const auth::SecretBox& box_;
  audit::AuditLog& audit_;
  const Clock& clock_;
};

}  // namespace assistantd::api
