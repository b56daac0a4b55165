#pragma once

#include "api/token_authenticator.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::api {

// Admin-only user management: /v1/admin/users (admin and service_role; 403 for others).
class AdminApi {
 public:
  AdminApi(storage::UserStore& users, TokenAuthenticator& authenticator,
           sync::SyncNotifier& notifier, const Clock& clock)
      : users_(users), authenticator_(authenticator), notifier_(notifier), clock_(clock) {}

  void Register(http::Router& router);
  Result<http::Response> ListUsers(http::RequestContext& ctx);
  Result<http::Response> DeleteUser(http::RequestContext& ctx);

 private:
  storage::UserStore& users_;
  TokenAuthenticator& authenticator_;
  sync::SyncNotifier& notifier_;
  const Clock& clock_;
};

}  // namespace assistantd::api
