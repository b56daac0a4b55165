#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "api/token_authenticator.hpp"
#include "api/user_admin.hpp"
#include "domain/account_rules.hpp"
#include "http/router.hpp"

namespace assistantd::api {

// GoTrue's admin API under /auth/v1/admin/users, as supabase-js `auth.admin` calls it
// (listUsers, createUser, getUserById, updateUserById, deleteUser), for the service role
// only (a secret API key or a service_role JWT). Same behaviour as /v1/admin/users (one
// UserAdmin behind both), GoTrue's request and response shapes, pagination headers and
// error codes.
class GoTrueAdminApi {
 public:
  GoTrueAdminApi(UserAdmin& admin, TokenAuthenticator& authenticator,
                 domain::PasswordPolicy password_policy)
      : admin_(admin), authenticator_(authenticator), password_policy_(password_policy) {}

  void Register(http::Router& router);

 private:
  // The service-role caller, or GoTrue's 401 no_authorization / 403 bad_jwt / not_admin.
  Result<void> Authorize(http::RequestContext& ctx);
  // Authorize, then the {id} path parameter (a malformed one: GoTrue's 404 validation_failed).
  Result<std::string> AuthorizeForUser(http::RequestContext& ctx);
  Result<http::Response> List(http::RequestContext& ctx);
  Result<http::Response> Create(http::RequestContext& ctx);
  Result<http::Response> Get(http::RequestContext& ctx);
  Result<http::Response> Update(http::RequestContext& ctx);
  Result<http::Response> Delete(http::RequestContext& ctx);
  // The user attributes of a create or update body (GoTrue's AdminUserParams).
  Result<UserChanges> ParseAttributes(const nlohmann::json& body, bool create);

  UserAdmin& admin_;
  TokenAuthenticator& authenticator_;
  domain::PasswordPolicy password_policy_;
};

// A Go duration ("300ms", "1.5h", "24h", "876000h", "1h30m"): microseconds, or nullopt when
// malformed or negative. GoTrue's ban_duration takes these ("none" is handled by the caller).
std::optional<int64_t> ParseGoDuration(std::string_view text);

}  // namespace assistantd::api
