#include "api/gotrue_admin_api.hpp"

#include <charconv>
#include <cmath>

#include "api/auth_api.hpp"
#include "api/request_parsing.hpp"
#include "common/uuid.hpp"

namespace assistantd::api {
namespace {

using nlohmann::json;

constexpr int kDefaultPerPage = 50;
constexpr int kMaxPerPage = 1000;

tl::unexpected<Error> Validation(std::string message) {
  return Fail(ErrorCode::kInvalidInput, "validation_failed", std::move(message));
}

// GoTrue's codes for what UserAdmin answers in its own words.
Error GoTrueError(Error e) {
  if (e.reason == "user_already_exists" || e.reason == "email_exists") {
    e.code = ErrorCode::kUnprocessable;
    e.reason = "email_exists";
    e.message = "A user with this email address has already been registered";
  }
  return e;
}

Result<int> PageNumber(const std::string& value, int fallback, int max, const char* name) {
  if (value.empty()) return fallback;
  int n = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || ptr != value.data() + value.size() || n < 1 || n > max) {
    return Validation(std::string(name) + " must be a whole number from 1 to " +
                      std::to_string(max));
  }
  return n;
}

}  // namespace

std::optional<int64_t> ParseGoDuration(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (text == "0") return 0;
  double total_us = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return std::nullopt;
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + i, value);
    if (ec != std::errc() || ptr != text.data() + i) return std::nullopt;
    const size_t unit_start = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.')
      ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ns")
      scale = 1e-3;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      scale = 1;
    else if (unit == "ms")
      scale = 1e3;
    else if (unit == "s")
      scale = 1e6;
    else if (unit == "m")
      scale = 60e6;
    else if (unit == "h")
      scale = 3600e6;
    else
      return std::nullopt;
    total_us += value * scale;
  }
  // Go's durations stop at about 292 years.
  if (!std::isfinite(total_us) || total_us > 9.2e18 / 1e3) return std::nullopt;
  return static_cast<int64_t>(total_us);
}

void GoTrueAdminApi::Register(http::Router& router) {
  using http::Access;
  // Authorised inside (GoTrue's codes: 401 no_authorization, 403 bad_jwt / not_admin).
  router.Add("GET", "/auth/v1/admin/users", Access::kApp, [this](auto& ctx) { return List(ctx); });
  router.Add("POST", "/auth/v1/admin/users", Access::kApp,
             [this](auto& ctx) { return Create(ctx); });
  router.Add("GET", "/auth/v1/admin/users/{id}", Access::kApp,
             [this](auto& ctx) { return Get(ctx); });
  router.Add("PUT", "/auth/v1/admin/users/{id}", Access::kApp,
             [this](auto& ctx) { return Update(ctx); });
  router.Add("DELETE", "/auth/v1/admin/users/{id}", Access::kApp,
             [this](auto& ctx) { return Delete(ctx); });
}

Result<void> GoTrueAdminApi::Authorize(http::RequestContext& ctx) {
  auto principal = authenticator_.Authenticate(ctx.request, /*may_block=*/true);
  if (!principal) {
    const Error& e = principal.error();
    // The app's publishable key alone is the anon role: known, but not an admin.
    const auto apikey = ctx.request.Header("apikey");
    if (e.reason == "missing_token" && apikey && apikey->starts_with("sb_publishable_")) {
      return Fail(ErrorCode::kForbidden, "not_admin", "User not allowed");
    }
    if (e.reason == "missing_token") {
      return Fail(ErrorCode::kUnauthenticated, "no_authorization",
                  "This endpoint requires a valid Bearer token");
    }
    if (e.reason == "invalid_api_key" || e.reason == "secret_key_in_browser")
      return tl::unexpected(e);
    return Fail(ErrorCode::kForbidden, "bad_jwt",
                "invalid JWT: unable to parse or verify signature, token is invalid or expired");
  }
  if (principal->role != domain::Role::kServiceRole) {
    return Fail(ErrorCode::kForbidden, "not_admin", "User not allowed");
  }
  ctx.principal = std::move(*principal);
  return {};
}

Result<UserChanges> GoTrueAdminApi::ParseAttributes(const json& body, bool create) {
  if (auto r = RefuseUnknownMembers(
          body,
          {"email", "phone", "password", "password_hash", "email_confirm", "phone_confirm",
           "user_metadata", "app_metadata", "role", "id", "ban_duration", "nonce", "channel"});
      !r) {
    return tl::unexpected(r.error());
  }
  UserChanges c;
  if (const auto phone = body.find("phone");
      phone != body.end() && !phone->is_null() && *phone != "") {
    return Validation("Phone numbers are not supported by this server");
  }
  if (const auto email = body.find("email"); email != body.end() && !email->is_null()) {
    auto normalized = domain::NormalizeEmail(*email);
    if (!normalized) return tl::unexpected(normalized.error());
    c.email = std::move(*normalized);
  }
  if (body.contains("password") && body.contains("password_hash")) {
    return Validation("Only a password or a password hash should be provided");
  }
  if (const auto password = body.find("password"); password != body.end() && !password->is_null()) {
    if (create) {
      // GoTrue checks only the length when an admin creates a user.
      if (!password->is_string()) return Validation("password must be a string");
      if (password->get_ref<const std::string&>().size() > password_policy_.max_length) {
        return Validation("Password cannot be longer than " +
                          std::to_string(password_policy_.max_length) + " characters");
      }
      c.password = password->get<std::string>();
    } else {
      auto checked = domain::CheckPassword(*password, password_policy_);
      if (!checked) return tl::unexpected(checked.error());
      c.password = std::move(*checked);
    }
  }
  if (const auto hash = body.find("password_hash"); hash != body.end() && !hash->is_null()) {
    if (!hash->is_string() || !hash->get_ref<const std::string&>().starts_with("$argon2id$")) {
      return Validation("password_hash must be an argon2id hash ($argon2id$...)");
    }
    c.password_hash = hash->get<std::string>();
  }
  if (const auto confirm = body.find("email_confirm");
      confirm != body.end() && !confirm->is_null()) {
    if (!confirm->is_boolean()) return Validation("email_confirm must be a boolean");
    c.email_confirmed = confirm->get<bool>();
  }
  for (const auto& [name, target, kind] :
       {std::tuple{"user_metadata", &c.user_metadata, domain::Metadata::kUser},
        std::tuple{"app_metadata", &c.app_metadata, domain::Metadata::kApp}}) {
    if (const auto it = body.find(name); it != body.end() && !it->is_null()) {
      auto metadata = domain::CheckMetadata(*it, kind);
      if (!metadata) return tl::unexpected(metadata.error());
      *target = std::move(*metadata);
    }
  }
  // Our role lives in app_metadata.role (as the tokens carry it); an assignable value there
  // sets it. GoTrue's own `role` is the JWT role claim: "authenticated" or one of ours.
  if (c.app_metadata && c.app_metadata->contains("role")) {
    const json role = (*c.app_metadata)["role"];
    const auto parsed =
        role.is_string() ? domain::ParseRole(role.get_ref<const std::string&>()) : std::nullopt;
    if (parsed && *parsed != domain::Role::kServiceRole) {
      c.role = *parsed;
      c.app_metadata->erase("role");
    }
  }
  if (const auto role = body.find("role"); role != body.end() && !role->is_null() && *role != "") {
    const auto parsed =
        role->is_string() ? domain::ParseRole(role->get_ref<const std::string&>()) : std::nullopt;
    if (!parsed || *parsed == domain::Role::kServiceRole) {
      return Validation("role must be authenticated, user, premium, test or admin");
    }
    if (*role != "authenticated") c.role = *parsed;
  }
  if (const auto ban = body.find("ban_duration");
      ban != body.end() && !ban->is_null() && *ban != "") {
    if (!ban->is_string()) return Validation("ban_duration must be a string such as 24h or none");
    c.change_ban = true;
    if (*ban != "none") {
      const auto us = ParseGoDuration(ban->get_ref<const std::string&>());
      if (!us) return Validation("invalid format for ban duration: " + ban->get<std::string>());
      c.ban_for_us = *us;
    }
  }
  return c;
}

Result<http::Response> GoTrueAdminApi::List(http::RequestContext& ctx) {
  if (auto a = Authorize(ctx); !a) return tl::unexpected(a.error());
  auto params = http::ParseQuery(ctx.request.query);
  if (!params) return tl::unexpected(params.error());
  std::string page_text, per_page_text;
  for (const auto& [k, v] : *params) {
    if (k == "page") page_text = v;
    if (k == "per_page") per_page_text = v;
  }
  auto page = PageNumber(page_text, 1, 1'000'000, "page");
  if (!page) return tl::unexpected(page.error());
  auto per_page = PageNumber(per_page_text, kDefaultPerPage, kMaxPerPage, "per_page");
  if (!per_page) return tl::unexpected(per_page.error());
  auto found = admin_.users().ListUsersNumbered(int64_t{*page - 1} * *per_page, *per_page);
  if (!found) return tl::unexpected(found.error());
  json users = json::array();
  for (const auto& u : found->items) users.push_back(GoTrueUser(u));
  auto r = http::Response::Json(200, {{"users", std::move(users)}, {"aud", "authenticated"}});
  r.SetHeader("X-Total-Count", std::to_string(found->total));
  // As GoTrue writes it: page first (supabase-js reads the page number from the first '='),
  // "next" only when there is one, then "last".
  const int64_t last = std::max<int64_t>(1, (found->total + *per_page - 1) / *per_page);
  const auto link = [&](int64_t n, const char* rel) {
    return "</auth/v1/admin/users?page=" + std::to_string(n) +
           "&per_page=" + std::to_string(*per_page) + ">; rel=\"" + rel + "\"";
  };
  std::string links;
  if (*page < last) links = link(*page + 1, "next") + ", ";
  links += link(last, "last");
  r.SetHeader("Link", links);
  return r;
}

Result<http::Response> GoTrueAdminApi::Create(http::RequestContext& ctx) {
  if (auto a = Authorize(ctx); !a) return tl::unexpected(a.error());
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  auto changes = ParseAttributes(*body, true);
  if (!changes) return tl::unexpected(changes.error());
  if (!changes->email) return Validation("Unable to validate email address: email is required");
  std::optional<std::string> id;
  if (const auto it = body->find("id"); it != body->end() && !it->is_null()) {
    id = it->is_string() ? NormalizeUuid(it->get_ref<const std::string&>()) : std::nullopt;
    if (!id) return Validation("id must be a UUID");
  }
  if (!changes->email_confirmed) changes->email_confirmed = false;
  const std::string email = *changes->email;
  auto user = admin_.Create(ctx, id, email, *changes);
  if (!user) return tl::unexpected(GoTrueError(user.error()));
  return http::Response::Json(200, GoTrueUser(*user));
}

Result<std::string> GoTrueAdminApi::AuthorizeForUser(http::RequestContext& ctx) {
  if (auto a = Authorize(ctx); !a) return tl::unexpected(a.error());
  const auto id = NormalizeUuid(ctx.Param("id"));
  if (!id) return Fail(ErrorCode::kNotFound, "validation_failed", "user_id must be an UUID");
  return *id;
}

Result<http::Response> GoTrueAdminApi::Get(http::RequestContext& ctx) {
  auto id = AuthorizeForUser(ctx);
  if (!id) return tl::unexpected(id.error());
  auto user = admin_.Get(*id);
  if (!user) return tl::unexpected(user.error());
  return http::Response::Json(200, GoTrueUser(*user));
}

Result<http::Response> GoTrueAdminApi::Update(http::RequestContext& ctx) {
  auto id = AuthorizeForUser(ctx);
  if (!id) return tl::unexpected(id.error());
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  if (body->contains("id")) return Validation("A user's id cannot be changed");
  auto changes = ParseAttributes(*body, false);
  if (!changes) return tl::unexpected(changes.error());
  auto user = admin_.Update(ctx, *id, *changes);
  if (!user) return tl::unexpected(GoTrueError(user.error()));
  return http::Response::Json(200, GoTrueUser(*user));
}

Result<http::Response> GoTrueAdminApi::Delete(http::RequestContext& ctx) {
  auto id = AuthorizeForUser(ctx);
  if (!id) return tl::unexpected(id.error());
  bool soft = false;
  if (!ctx.request.body.empty()) {
    auto body = ParseObjectBody(ctx.request);
    if (!body) return tl::unexpected(body.error());
    if (auto r = RefuseUnknownMembers(*body, {"should_soft_delete"}); !r)
      return tl::unexpected(r.error());
    const json flag = body->value("should_soft_delete", json(false));
    if (!flag.is_boolean()) return Validation("should_soft_delete must be a boolean");
    soft = flag.get<bool>();
  }
  if (auto r = admin_.Delete(ctx, *id, soft); !r) return tl::unexpected(r.error());
  return http::Response::Json(200, json::object());
}

}  // namespace assistantd::api
