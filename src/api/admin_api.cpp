#include "api/admin_api.hpp"

#include <algorithm>

#include "api/audit_actor.hpp"
#include "api/profile_api.hpp"
#include "api/request_parsing.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace assistantd::api {
namespace {

using nlohmann::json;

json OptionalTime(const std::optional<int64_t>& us) {
  return us ? json(FormatTimestamp(*us)) : json(nullptr);
}

tl::unexpected<Error> UserNotFound() {
  return Fail(ErrorCode::kNotFound, "not_found", "User not found");
}

// Roles an admin may give (service_role is a key, not a user's role).
std::optional<domain::Role> AssignableRole(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto role = domain::ParseRole(v.get_ref<const std::string&>());
  if (!role || *role == domain::Role::kServiceRole) return std::nullopt;
  return role;
}

}  // namespace

json AdminUserJson(const domain::User& u) {
  return {{"id", u.id},
          {"email", u.email ? json(*u.email) : json(nullptr)},
          {"role", domain::ToString(u.role)},
          {"hasPassword", u.password_hash.has_value()},
          {"emailConfirmedAt", OptionalTime(u.email_confirmed_at_us)},
          {"lastSignInAt", OptionalTime(u.last_sign_in_at_us)},
          {"bannedUntil", OptionalTime(u.banned_until_us)},
          {"userMetadata", u.user_metadata},
          {"appMetadata", u.app_metadata},
          {"profile", ProfileJson(u)},
          {"createdAt", FormatTimestamp(u.created_at_us)},
          {"updatedAt", FormatTimestamp(u.updated_at_us)}};
}

void AdminApi::Register(http::Router& router) {
  using http::Access;
  router.Add("GET", "/v1/admin/users", Access::kAdmin, [this](auto& ctx) { return ListUsers(ctx); });
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
  auto page = users_.ListUsers(after, limit);
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
    if (!r) return ValidationFailed(json::array({Violation("role", "must be user, premium, test or admin")}));
    role = *r;
  }
  const json confirmed = body->value("emailConfirmed", json(true));
  if (!confirmed.is_boolean()) {
    return ValidationFailed(json::array({Violation("emailConfirmed", "must be a boolean")}));
  }
  auto user_metadata = domain::CheckUserMetadata(body->value("userMetadata", json()));
  if (!user_metadata) return tl::unexpected(user_metadata.error());
  auto app_metadata = domain::CheckUserMetadata(body->value("appMetadata", json()));
  if (!app_metadata) return tl::unexpected(app_metadata.error());
  auto hash = hasher_.Hash(*password);
  if (!hash) return tl::unexpected(hash.error());
  const int64_t now = clock_.NowMicros();
  domain::User user = domain::MakeUser(NewUuid(), *email, role, now);
  user.password_hash = std::move(*hash);
  user.user_metadata = std::move(*user_metadata);
  user.app_metadata = std::move(*app_metadata);
  if (confirmed.get<bool>()) user.email_confirmed_at_us = now;
  if (auto r = users_.CreateAccount(user); !r) {
    if (r.error().reason == "user_already_exists") {
      return Fail(ErrorCode::kConflict, "user_already_exists",
                  "An account with this email address already exists");
    }
    return tl::unexpected(r.error());
  }
  audit_.Record(ActorFor(ctx), {"user.create", "user", user.id, user.id, nullptr, AdminUserJson(user)});
  auto response = http::Response::Json(201, AdminUserJson(user));
  response.SetHeader("Location", "/v1/admin/users/" + user.id);
  return response;
}

Result<http::Response> AdminApi::GetUser(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "User");
  if (!id) return tl::unexpected(id.error());
  auto user = users_.GetUser(*id);
  if (!user) return tl::unexpected(user.error());
  if (!*user) return UserNotFound();
  return http::Response::Json(200, AdminUserJson(**user));
}

Result<http::Response> AdminApi::UpdateUser(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "User");
  if (!id) return tl::unexpected(id.error());
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  auto found = users_.GetUser(*id);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return UserNotFound();
  const domain::User before = **found;
  domain::User user = before;
  const int64_t now = clock_.NowMicros();
  bool end_sessions = false;
  json details = json::array();
  for (const auto& [k, v] : body->items()) {
    if (k == "role") {
      const auto role = AssignableRole(v);
      if (!role) {
        details.push_back(Violation(k, "must be user, premium, test or admin"));
      } else {
        user.role = *role;
      }
    } else if (k == "bannedUntil") {
      // A timestamp bans until then (and ends every session); null lifts the ban.
      if (v.is_null()) {
        user.banned_until_us.reset();
      } else if (const auto t = v.is_string() ? ParseTimestamp(v.get_ref<const std::string&>())
                                              : std::nullopt;
                 t) {
        user.banned_until_us = *t;
        end_sessions = *t > now;
      } else {
        details.push_back(Violation(k, "must be an RFC 3339 timestamp or null"));
      }
    } else if (k == "emailConfirmed") {
      if (!v.is_boolean()) {
        details.push_back(Violation(k, "must be a boolean"));
      } else if (v.get<bool>()) {
        if (!user.email_confirmed_at_us) user.email_confirmed_at_us = now;
      } else {
        user.email_confirmed_at_us.reset();
      }
    } else if (k == "appMetadata") {
      auto app = domain::CheckUserMetadata(v);
      if (!app) {
        details.push_back(Violation(k, "must be a JSON object of at most 16 KiB"));
      } else {
        user.app_metadata = domain::MergeMetadata(user.app_metadata, *app);
      }
    } else if (k == "password") {
      auto password = domain::CheckPassword(v, password_policy_);
      if (!password) return tl::unexpected(password.error());
      auto hash = hasher_.Hash(*password);
      if (!hash) return tl::unexpected(hash.error());
      user.password_hash = std::move(*hash);
      end_sessions = true;
    } else {
      details.push_back(Violation(k, "unknown field"));
    }
  }
  if (!details.empty()) return ValidationFailed(std::move(details));
  user.updated_at_us = now;
  auto updated = users_.UpdateUser(user);
  if (!updated) return tl::unexpected(updated.error());
  if (!*updated) return UserNotFound();
  if (end_sessions) {
    if (auto r = users_.EndSessions(user.id, storage::SessionScope::kAll, ""); !r) {
      return tl::unexpected(r.error());
    }
    authenticator_.ForgetSessionsOf(user.id);
  }
  json after_json = AdminUserJson(user);
  if (body->contains("password")) after_json["password"] = "changed";
  audit_.Record(ActorFor(ctx), {before.role != user.role ? "user.role_change" : "user.update",
                                "user", user.id, user.id, AdminUserJson(before),
                                std::move(after_json)});
  return http::Response::Json(200, AdminUserJson(user));
}

Result<http::Response> AdminApi::DeleteUser(http::RequestContext& ctx) {
  auto id = ParseIdParam(ctx.Param("id"), "User");
  if (!id) return tl::unexpected(id.error());
  auto found = users_.GetUser(*id);
  if (!found) return tl::unexpected(found.error());
  auto deleted = users_.DeleteUser(*id, clock_.NowMicros());
  if (!deleted) return tl::unexpected(deleted.error());
  authenticator_.Forget(*id);
  notifier_.Notify();
  if (!*deleted) return UserNotFound();
  audit_.Record(ActorFor(ctx), {"user.delete", "user", *id, *id,
                                *found ? AdminUserJson(**found) : json(nullptr), nullptr});
  return http::Response::Empty(204);
}

}  // namespace assistantd::api
