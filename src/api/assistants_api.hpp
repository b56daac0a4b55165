#pragma once

#include "api/token_authenticator.hpp"
#include "common/clock.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::api {

// The assistants resource (C1, C2, C4) under /v1/assistants and /functions/v1/assistants.
class AssistantsApi {
 public:
  AssistantsApi(storage::AssistantStore& store, TokenAuthenticator& users,
                sync::SyncNotifier& notifier, const Clock& clock)
      : store_(store), users_(users), notifier_(notifier), clock_(clock) {}

  void Register(http::Router& router);

  Result<http::Response> Create(http::RequestContext& ctx);
  Result<http::Response> List(http::RequestContext& ctx);
  Result<http::Response> Get(http::RequestContext& ctx);
  Result<http::Response> Patch(http::RequestContext& ctx);
  Result<http::Response> Delete(http::RequestContext& ctx);

 private:
  storage::AssistantStore& store_;
  TokenAuthenticator& users_;
  sync::SyncNotifier& notifier_;
  const Clock& clock_;
};

}  // namespace assistantd::api
