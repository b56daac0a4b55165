#pragma once

#include "api/token_authenticator.hpp"
#include "audit/audit_log.hpp"
#include "auth/password_hasher.hpp"
#include "domain/account_rules.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::api {

// Admin-only user management at /v1/admin/users (admin and service_role; 403 for others):
// list, create an account, read, change role / ban / confirm / app metadata / password, and
// delete (cascading to the user's assistants, whose remote copies are deleted by the outbox).
class AdminApi {
 public:
  AdminApi(storage::UserStore& users, TokenAuthenticator& authenticator,
           sync::SyncNotifier& notifier, const auth::PasswordHasher& hasher,
           domain::PasswordPolicy password_policy, audit::AuditLog& audit, const Clock& clock)
      : users_(users),
        authenticator_(authenticator),
        notifier_(notifier),
        hasher_(hasher),
        password_policy_(password_policy),
        audit_(audit),
        clock_(clock) {}

  void Register(http::Router& router);
  Result<http::Response> ListUsers(http::RequestContext& ctx);
  Result<http::Response> CreateUser(http::RequestContext& ctx);
  Result<http::Response> GetUser(http::RequestContext& ctx);
  Result<http::Response> UpdateUser(http::RequestContext& ctx);
  Result<http::Response> DeleteUser(http::RequestContext& ctx);

 private:
  storage::UserStore& users_;
  TokenAuthenticator& authenticator_;
  sync::SyncNotifier& notifier_;
  const auth::PasswordHasher& hasher_;
  domain::PasswordPolicy password_policy_;
  audit::AuditLog& audit_;
  const Clock& clock_;
};

// A user as the admin API shows it (camelCase; never the password hash).
nlohmann::json AdminUserJson(const domain::User& user);

}  // namespace assistantd::api
