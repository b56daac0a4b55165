#pragma once

#include "audit/audit_log.hpp"
#include "common/clock.hpp"
#include "http/router.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// The caller's profile (display name and preferences) at /v1/profile, and their own audit
// trail at /v1/profile/audit; admins read everyone's trail at /v1/admin/audit.
class ProfileApi {
 public:
  ProfileApi(storage::UserStore& users, storage::AuditStore& audit_store, audit::AuditLog& audit,
             const Clock& clock)
      : users_(users), audit_store_(audit_store), audit_(audit), clock_(clock) {}

  void Register(http::Router& router);

 private:
  Result<http::Response> GetProfile(http::RequestContext& ctx);
  Result<http::Response> PatchProfile(http::RequestContext& ctx);
  Result<http::Response> OwnAudit(http::RequestContext& ctx);
  Result<http::Response> AdminAudit(http::RequestContext& ctx);
  Result<domain::User> Me(const http::RequestContext& ctx);

  storage::UserStore& users_;
  storage::AuditStore& audit_store_;
  audit::AuditLog& audit_;
  const Clock& clock_;
};

// The profile as the API shows it.
nlohmann::json ProfileJson(const domain::User& user);

// Checks a PATCH /v1/profile body and applies it to `user` (displayName, preferences:
// language, timezone, defaultVoice, defaultModel; null clears). Unknown members are refused.
Result<void> ApplyProfilePatch(const nlohmann::json& body, domain::User& user);

// An audit entry as the API shows it.
nlohmann::json AuditEntryJson(const domain::AuditEntry& entry);

}  // namespace assistantd::api
