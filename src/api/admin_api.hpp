#pragma once

#include "api/user_admin.hpp"
#include "domain/account_rules.hpp"
#include "http/router.hpp"

namespace assistantd::api {

// Admin-only user management at /v1/admin/users (admin and service_role; 403 for others):
// list, create an account, read, change role / ban / confirm / app metadata / password, and
// delete (cascading to the user's assistants, whose remote copies are deleted by the outbox).
class AdminApi {
 public:
  AdminApi(UserAdmin& admin, domain::PasswordPolicy password_policy)
      : admin_(admin), password_policy_(password_policy) {}

  void Register(http::Router& router);
  Result<http::Response> ListUsers(http::RequestContext& ctx);
  Result<http::Response> CreateUser(http::RequestContext& ctx);
  Result<http::Response> GetUser(http::RequestContext& ctx);
  Result<http::Response> UpdateUser(http::RequestContext& ctx);
  Result<http::Response> DeleteUser(http::RequestContext& ctx);

 private:
  UserAdmin& admin_;
  domain::PasswordPolicy password_policy_;
};

}  // namespace assistantd::api
