#include "api/admin_api.hpp"

#include "api/request_parsing.hpp"
#include "common/time_format.hpp"

namespace assistantd::api {
namespace {

using nlohmann::json;

// The native API's 404 (the shared implementation answers GoTrue's user_not_found).
Result<http::Response> Native(Error e) {
  if (e.reason == "user_not_found") e.reason = "not_found";
  return tl::unexpected(std::move(e));
}

// Roles an admin may give (service_role is a key, not a user's role).
std::optional<domain::Role> AssignableRole(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto role = domain::ParseRole(v.get_ref<const std::string&>());
  if (!role || *role == domain::Role::kServiceRole) return std::nullopt;
  return role;
}

}  // namespace

void AdminApi::Register(http::Router& router) {
  using http::Access;
  router.Add("GET", "/v1/admin/users", Access::kAdmin,
             [this](auto& ctx) { return ListUsers(ctx); });
  router.Add("POST", "/v1/admin/users", Access::kAdmin,
             [this](auto& ctx) { return CreateUser(ctx); });
  router.Add("GET", "/v1/admin/users/{id}", Access::kAdmin,
             [this](auto& ctx) { return GetUser(ctx); });
  router.Add("PATCH", "/v1/admin/users/{id}", Access::kAdmin,
             [this](auto& ctx) { return UpdateUser(ctx); });
  router.Add("DELETE", "/v1/admin/users/{id}", Access::kAdmin,
             [this](auto& ctx) { return DeleteUser(ctx); });
}

Result<http::Response> AdminApi::ListUsers(http::RequestContext& ctx) {
  auto params = ParseQueryParams(ctx.request, {"cursor", "limit"});
  if (!params) return tl::unexpected(params.error());
  int limit = domain::kDefaultListLimit;
  std::optional<domain::ListCursor> after;
  for (const auto& [name, value] : *params) {
    if (name == "limit") {
      auto l = ParseLimit(value, domain::kMaxListLimit);
      if (!l) return tl::unexpected(l.error());
      limit = *l;
    } else {
      auto c = ParseCursor(value);
      if (!c) return tl::unexpected(c.error());
      after = *c;
    }
  }
  auto page = admin_.users().ListUsers(after, limit);
  if (!page) return tl::unexpected(page.error());
  json data = json::array();
  for (const auto& u : page->items) data.push_back(AdminUserJson(u));
  return PageResponse(std::move(data), page->next);
}

Result<http::Response> AdminApi::CreateUser(http::RequestContext& ctx) {
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  if (auto r = RefuseUnknownMembers(
          *body, {"email", "password", "role", "emailConfirmed", "userMetadata", "appMetadata"});
      !r) {
    return tl::unexpected(r.error());
  }
  auto email = domain::NormalizeEmail(body->value("email", json()));
  if (!email) return tl::unexpected(email.error());
  auto password = domain::CheckPassword(body->value("password", json()), password_policy_);
  if (!password) return tl::unexpected(password.error());
  domain::Role role = domain::Role::kUser;
  if (body->contains("role")) {
    const auto r = AssignableRole((*body)["role"]);
    if (!r)
      return ValidationFailed(
          json::array({Violation("role", "must be user, premium, test or admin")}));
    role = *r;
  }
  const json confirmed = body->value("emailConfirmed", json(true));
  if (!confirmed.is_boolean()) {
    return ValidationFailed(json::array({Violation("emailConfirmed", "must be a boolean")}));
  }
  auto user_metadata =
      domain::CheckMetadata(body->value("userMetadata", json()), domain::Metadata::kUser);
  if (!user_metadata) return tl::unexpected(user_metadata.error());
  auto app_metadata =
      domain::CheckMetadata(body->value("appMetadata", json()), domain::Metadata::kApp);
  if (!app_metadata) return tl::unexpected(app_metadata.error());
  UserChanges changes;
  changes.password = std::move(*password);
  changes.role = role;
  changes.email_confirmed = confirmed.get<bool>();
  changes.user_metadata = std::move(*user_metadata);
  changes.app_metadata = std::move(*app_metadata);
  auto user = admin_.Create(ctx, std::nullopt, *email, changes);
  if (!user) return Native(user.error());
  auto response = http::Response::Json(201, AdminUserJson(*user));
  response.SetHeader("Location", "/v1/admin/users/" + user->id);
  return response;
}

Result<http::Response> AdminApi::GetUser(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "User");
  if (!id) return tl::unexpected(id.error());
  auto user = admin_.Get(*id);
  if (!user) return Native(user.error());
  return http::Response::Json(200, AdminUserJson(*user));
}

Result<http::Response> AdminApi::UpdateUser(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "User");
  if (!id) return tl::unexpected(id.error());
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  UserChanges changes;
  json details = json::array();
  for (const auto& [k, v] : body->items()) {
    if (k == "role") {
      const auto role = AssignableRole(v);
      if (!role) {
        details.push_back(Violation(k, "must be user, premium, test or admin"));
      } else {
        changes.role = *role;
      }
    } else if (k == "bannedUntil") {
      // A timestamp bans until then (and ends every session); null lifts the ban.
      changes.change_ban = true;
      if (v.is_null()) {
        changes.banned_until_us.reset();
      } else if (const auto t =
                     v.is_string() ? ParseTimestamp(v.get_ref<const std::string&>()) : std::nullopt;
                 t) {
        changes.banned_until_us = *t;
      } else {
        details.push_back(Violation(k, "must be an RFC 3339 timestamp or null"));
      }
    } else if (k == "emailConfirmed") {
      if (!v.is_boolean()) {
        details.push_back(Violation(k, "must be a boolean"));
      } else {
        changes.email_confirmed = v.get<bool>();
      }
    } else if (k == "appMetadata") {
      auto app = domain::CheckMetadata(v, domain::Metadata::kApp);
      if (!app) {
        details.push_back(Violation(k, "must be a JSON object of at most " +
                                           std::to_string(domain::kMaxAppMetadataBytes) +
                                           " bytes"));
      } else {
        changes.app_metadata = std::move(*app);
      }
    } else if (k == "password") {
      auto password = domain::CheckPassword(v, password_policy_);
      if (!password) return tl::unexpected(password.error());
      changes.password = std::move(*password);
    } else {
      details.push_back(Violation(k, "unknown field"));
    }
  }
  if (!details.empty()) return ValidationFailed(std::move(details));
  auto user = admin_.Update(ctx, *id, changes);
  if (!user) return Native(user.error());
  return http::Response::Json(200, AdminUserJson(*user));
}

Result<http::Response> AdminApi::DeleteUser(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "User");
  if (!id) return tl::unexpected(id.error());
  if (auto r = admin_.Delete(ctx, *id, false); !r) return Native(r.error());
  return http::Response::Empty(204);
}

}  // namespace assistantd::api
