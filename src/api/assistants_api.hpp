#pragma once

#include "api/token_authenticator.hpp"
#include "audit/audit_log.hpp"
#include "auth/secret_box.hpp"
#include "common/clock.hpp"
#include "http/router.hpp"
#include "limits/limits_policy.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::api {

// The assistants resource under /v1/assistants and /functions/v1/assistants. Writes are
// asynchronous: they are submitted to the store's group commit and answered from `executor`
// (the handler pool) once durable, so no handler thread waits for the disk.
class AssistantsApi {
 public:
  AssistantsApi(storage::AssistantStore& store, storage::SyncStore& sync, TokenAuthenticator& users,
                sync::SyncNotifier& notifier, const auth::SecretBox& box,
                const limits::LimitsSettings& limits, audit::AuditLog& audit, const Clock& clock,
                http::Executor executor)
      : store_(store),
        sync_(sync),
        users_(users),
        notifier_(notifier),
        box_(box),
        limits_(limits),
        audit_(audit),
        clock_(clock),
        executor_(std::move(executor)) {}

  void Register(http::Router& router);

  void Create(http::RequestContext& ctx, http::Reply reply);
  Result<http::Response> List(http::RequestContext& ctx);
  Result<http::Response> Get(http::RequestContext& ctx);
  void Patch(http::RequestContext& ctx, http::Reply reply);
  void Delete(http::RequestContext& ctx, http::Reply reply);

 private:
  storage::AssistantStore& store_;
  storage::SyncStore& sync_;
  TokenAuthenticator& users_;
  sync::SyncNotifier& notifier_;
  const auth::SecretBox& box_;
  const limits::LimitsSettings& limits_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  http::Executor executor_;

  // A validated create: the new row and its sealed per-request key.
  struct NewAssistant {
    domain::Assistant assistant;
    std::optional<std::string> job_key;
  };
  Result<NewAssistant> PrepareCreate(http::RequestContext& ctx);
  // The completion of a submitted write: `respond` turns the written value into the response
  // (on the handler pool when the request waits for the sync); errors go to `reply` as they
  // are.
  template <class T>
  storage::Completion<T> Then(const http::RequestContext& ctx, http::Reply reply,
                              std::function<Result<http::Response>(T)> respond);
  Result<http::Response> DeleteResponse(http::RequestContext& ctx, const std::string& id);

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
