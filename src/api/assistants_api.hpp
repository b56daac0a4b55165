#pragma once

#include "api/token_authenticator.hpp"
#include "audit/audit_log.hpp"
#include "auth/secret_box.hpp"
#include "limits/limits_policy.hpp"
#include "common/clock.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::api {

// The assistants resource (C1, C2, C4) under /v1/assistants and /functions/v1/assistants.
class AssistantsApi {
 public:
  AssistantsApi(storage::AssistantStore& store, storage::SyncStore& sync, TokenAuthenticator& users,
                sync::SyncNotifier& notifier, const auth::SecretBox& box,
                const limits::LimitsSettings& limits, audit::AuditLog& audit, const Clock& clock)
      : store_(store),
        sync_(sync),
        users_(users),
        notifier_(notifier),
        box_(box),
        limits_(limits),
        audit_(audit),
        clock_(clock) {}

  void Register(http::Router& router);

  Result<http::Response> Create(http::RequestContext& ctx);
  Result<http::Response> List(http::RequestContext& ctx);
  Result<http::Response> Get(http::RequestContext& ctx);
  Result<http::Response> Patch(http::RequestContext& ctx);
  Result<http::Response> Delete(http::RequestContext& ctx);

 private:
  storage::AssistantStore& store_;
  storage::SyncStore& sync_;
  TokenAuthenticator& users_;
  sync::SyncNotifier& notifier_;
  const auth::SecretBox& box_;
  const limits::LimitsSettings& limits_;
  audit::AuditLog& audit_;
  const Clock& clock_;

  // The sealed per-request key (header or body, removed from `body`), if one was given.
  Result<std::optional<std::string>> SealedRequestKey(const http::Request& request,
                                                      nlohmann::json* body) const;

  // `Prefer: wait=N`: waits up to N seconds until the assistant's sync job is no longer open
  // and returns that job (nullopt if there is none or it could not be read).
  std::optional<storage::SyncJob> AwaitSync(const std::string& id, int seconds);
  // The response to a write, refreshed after waiting when the client asked to.
  Result<http::Response> WriteResponse(http::RequestContext& ctx, int status,
                                       const domain::Assistant& written);
};

}  // namespace assistantd::api
