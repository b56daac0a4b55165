#pragma once

#include "api/assistant_cache.hpp"
#include "api/token_authenticator.hpp"
#include "audit/audit_log.hpp"
#include "auth/secret_box.hpp"
#include "common/clock.hpp"
#include "http/router.hpp"
#include "limits/limits_policy.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"
#include "sync/outcome_waiter.hpp"

namespace assistantd::api {

// The assistants resource under /v1/assistants and /functions/v1/assistants. Writes are
// asynchronous: they are submitted to the store's group commit and answered once durable, so
// no handler thread waits for the disk; one that waits for its sync outcome (Prefer: wait) is
// watched by `waiter` and answered from `executor` (the handler pool).
class AssistantsApi {
 public:
  AssistantsApi(storage::AssistantStore& store, TokenAuthenticator& users,
                sync::SyncNotifier& notifier, sync::OutcomeWaiter& waiter,
                const auth::SecretBox& box, const limits::LimitsSettings& limits,
                audit::AuditLog& audit, const Clock& clock, http::Executor executor,
                bool require_if_match = false, AssistantCache* cache = nullptr,
                storage::AssistantChangeFeed* feed = nullptr)
      : store_(store),
        users_(users),
        notifier_(notifier),
        waiter_(waiter),
        box_(box),
        limits_(limits),
        audit_(audit),
        clock_(clock),
        executor_(std::move(executor)),
        require_if_match_(require_if_match),
        cache_(cache && feed ? cache : nullptr),
        feed_(feed) {}

  void Register(http::Router& router);

  void Create(http::RequestContext& ctx, http::Reply reply);
  Result<http::Response> List(http::RequestContext& ctx);
  void Get(http::RequestContext& ctx, http::Reply reply);
  void Patch(http::RequestContext& ctx, http::Reply reply);
  void Delete(http::RequestContext& ctx, http::Reply reply);

 private:
  storage::AssistantStore& store_;
  TokenAuthenticator& users_;
  sync::SyncNotifier& notifier_;
  sync::OutcomeWaiter& waiter_;
  const auth::SecretBox& box_;
  const limits::LimitsSettings& limits_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  http::Executor executor_;
  bool require_if_match_;  // PATCH and DELETE without If-Match are 428
  AssistantCache* cache_;  // reads by id, when the store has a change feed to keep it current
  storage::AssistantChangeFeed* feed_;

  // GET by id from the store (storing what it read in the cache, under `ticket`).
  Result<http::Response> ReadOne(const std::string& id, const domain::AccessScope& scope,
                                 const std::optional<std::vector<std::string>>& projection);

  // A validated create: the new row and its sealed per-request key.
  struct NewAssistant {
    domain::Assistant assistant;
    std::optional<std::string> job_key;
  };
  Result<NewAssistant> PrepareCreate(http::RequestContext& ctx);
  // The completion of a submitted write: `respond` gets the written value and the reply to
  // answer (now or later); errors go to the reply as they are.
  template <class T>
  storage::Completion<T> Then(http::Reply reply, std::function<void(T, http::Reply)> respond);
  // Builds a write's answer with `answer(waited, job)`: at once (waited empty) unless the
  // request asked `Prefer: wait=N`; then once the assistant's sync job has an outcome or N
  // seconds passed (waited = N, job as it stands), on the handler pool, holding no thread
  // meanwhile. Over the wait bounds the preference is ignored and the answer comes at once.
  using AfterSync = std::function<Result<http::Response>(
      std::optional<int> waited, const std::optional<storage::SyncJob>& job)>;
  void AnswerAfterSync(const http::RequestContext& ctx, const std::string& id, http::Reply reply,
                       AfterSync answer);
  static Result<http::Response> DeleteResponse(const std::string& id, std::optional<int> waited,
                                               const std::optional<storage::SyncJob>& job);

  // The sealed per-request key (header or body, removed from `body`), if one was given.
  Result<std::optional<std::string>> SealedRequestKey(const http::Request& request,
                                                      nlohmann::json* body) const;

  // The response to a write; after a wait (`waited` set), refreshed from the store.
  Result<http::Response> WriteResponse(http::RequestContext& ctx, int status,
                                       const domain::Assistant& written, std::optional<int> waited);
};

}  // namespace assistantd::api
