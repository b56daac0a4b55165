#pragma once

#include "api/token_authenticator.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// Admin-only user management: /v1/admin/users (admin and service_role; 403 for others).
class AdminApi {
 public:
  AdminApi(storage::UserStore& users, TokenAuthenticator& authenticator)
      : users_(users), authenticator_(authenticator) {}

  void Register(http::Router& router);
  Result<http::Response> ListUsers(http::RequestContext& ctx);
  Result<http::Response> DeleteUser(http::RequestContext& ctx);

 private:
  storage::UserStore& users_;
  TokenAuthenticator& authenticator_;
};

}  // namespace assistantd::api
