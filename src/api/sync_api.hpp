#pragma once

#include <functional>

#include "auth/secret_box.hpp"
#include "common/clock.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::api {

// Sync status and control: GET/POST /v1/assistants/{id}/sync (and the /functions twin),
// GET /v1/admin/sync, POST /v1/admin/sync/dead/{jobId}/retry, POST /v1/admin/reconcile.
class SyncApi {
 public:
  // Runs a reconciliation (dry_run, repair_drift) and returns its summary.
  using ReconcileFn = std::function<Result<nlohmann::json>(bool dry_run, bool repair_drift)>;

  SyncApi(storage::AssistantStore& assistants, storage::SyncStore& sync,
          sync::SyncNotifier& notifier, const auth::SecretBox& box, const Clock& clock,
          ReconcileFn reconcile, bool require_if_match = false)
      : assistants_(assistants),
        sync_(sync),
        notifier_(notifier),
        box_(box),
        clock_(clock),
        reconcile_(std::move(reconcile)),
        require_if_match_(require_if_match) {}

  void Register(http::Router& router);
  Result<http::Response> Status(http::RequestContext& ctx);
  Result<http::Response> Resync(http::RequestContext& ctx);
  Result<http::Response> Queue(http::RequestContext& ctx);
  Result<http::Response> RetryDead(http::RequestContext& ctx);
  Result<http::Response> Reconcile(http::RequestContext& ctx);

 private:
  storage::AssistantStore& assistants_;
  storage::SyncStore& sync_;
  sync::SyncNotifier& notifier_;
  const auth::SecretBox& box_;
  const Clock& clock_;
  ReconcileFn reconcile_;
  bool require_if_match_;  // a sync trigger without If-Match is 428
};

}  // namespace assistantd::api
