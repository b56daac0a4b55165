#include "api/auth_api.hpp"

#include <algorithm>
#include <initializer_list>

#include "api/audit_actor.hpp"
#include "api/request_parsing.hpp"
#include "auth/session_tokens.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace assistantd::api {
namespace {

using nlohmann::json;

tl::unexpected<Error> InvalidCredentials() {
  return Fail(ErrorCode::kInvalidInput, "invalid_credentials", "Invalid login credentials");
}

tl::unexpected<Error> Validation(std::string message) {
  return Fail(ErrorCode::kInvalidInput, "validation_failed", std::move(message));
}

json Timestamp(const std::optional<int64_t>& us) {
  return us ? json(FormatTimestamp(*us)) : json(nullptr);
}

void SetIfPresent(json& out, const char* name, const std::optional<int64_t>& us) {
  if (us) out[name] = FormatTimestamp(*us);
}

// The Bearer token of a request, if it has a non-empty one.
std::optional<std::string_view> BearerToken(const http::Request& request) {
  const auto credential = BearerCredential(request);
  if (!credential || !*credential || (*credential)->empty()) return std::nullopt;
  return **credential;
}

}  // namespace

json GoTrueUser(const domain::User& u) {
  json user_metadata = u.user_metadata.is_object() ? u.user_metadata : json::object();
  if (u.email_confirmed_at_us && !user_metadata.contains("email_verified")) {
    user_metadata["email_verified"] = true;
  }
  json identity_data = user_metadata;
  identity_data["sub"] = u.id;
  identity_data["email"] = u.email.value_or("");
  identity_data["email_verified"] = u.email_confirmed_at_us.has_value();
  identity_data["phone_verified"] = false;
  const json identity = {{"identity_id", u.id},
                         {"id", u.id},
                         {"user_id", u.id},
                         {"identity_data", identity_data},
                         {"provider", "email"},
                         {"last_sign_in_at", Timestamp(u.last_sign_in_at_us)},
                         {"created_at", FormatTimestamp(u.created_at_us)},
                         {"updated_at", FormatTimestamp(u.updated_at_us)},
                         {"email", u.email.value_or("")}};
  json out = {{"id", u.id},
              {"aud", "authenticated"},
              {"role", "authenticated"},
              {"email", u.email.value_or("")},
              {"phone", ""},
              {"app_metadata", auth::PublicAppMetadata(u)},
              {"user_metadata", user_metadata},
              {"identities", u.password_hash ? json::array({identity}) : json::array()},
              {"created_at", FormatTimestamp(u.created_at_us)},
              {"updated_at", FormatTimestamp(u.updated_at_us)},
              {"is_anonymous", false}};
  SetIfPresent(out, "email_confirmed_at", u.email_confirmed_at_us);
  SetIfPresent(out, "confirmed_at", u.email_confirmed_at_us);
  SetIfPresent(out, "last_sign_in_at", u.last_sign_in_at_us);
  SetIfPresent(out, "banned_until", u.banned_until_us);
  return out;
}

void AuthApi::Register(http::Router& router) {
  using http::Access;
  router.Add("POST", "/auth/v1/signup", Access::kApp, [this](auto& ctx) { return SignUp(ctx); });
  router.Add("POST", "/auth/v1/token", Access::kApp, [this](auto& ctx) { return Token(ctx); });
  router.Add("GET", "/auth/v1/user", Access::kApp, [this](auto& ctx) { return GetUser(ctx); });
  router.Add("PUT", "/auth/v1/user", Access::kApp, [this](auto& ctx) { return UpdateUser(ctx); });
  router.Add("POST", "/auth/v1/logout", Access::kApp, [this](auto& ctx) { return Logout(ctx); });
  router.Add("GET", "/auth/v1/settings", Access::kApp, [this](auto& ctx) { return Settings(ctx); });
  router.Add("GET", "/auth/v1/health", Access::kApp, [](auto&) -> Result<http::Response> {
    return http::Response::Json(
        200, {{"name", "assistantd"},
              {"description", "assistantd's Supabase-Auth-compatible accounts (GoTrue subset)"}});
  });
  // Our signing keys' public halves (empty while only the HS secret signs: clients then
  // verify through GET /user). No API key needed, as on Supabase.
  router.Add("GET", "/auth/v1/.well-known/jwks.json", Access::kPublic,
             [this](auto&) -> Result<http::Response> {
               auto r = http::Response::Json(200, signer_.Jwks());
               r.SetHeader("Cache-Control", "public, max-age=600");
               return r;
             });
}

Result<void> AuthApi::Limit(const std::string& key, const limits::RateLimit& limit) {
  const auto d = limiter_.Hit(key, limit);
  if (d.allowed) return {};
  Error e{ErrorCode::kRateLimited,
          "over_request_rate_limit",
          "Request rate limit reached; retry in " + std::to_string(d.reset_seconds) + " s",
          json::array(),
          {}};
  e.headers = limits::RateLimitHeaders("auth", limit, d);
  return tl::unexpected(std::move(e));
}

Result<http::Response> AuthApi::Settings(http::RequestContext&) {
  return http::Response::Json(
      200, {{"external", {{"email", true}, {"phone", false}, {"anonymous_users", false}}},
            {"disable_signup", settings_.disable_signup},
            {"mailer_autoconfirm", !settings_.require_email_confirmation},
            {"phone_autoconfirm", false},
            {"sms_provider", ""},
            {"saml_enabled", false},
            {"password_min_length", settings_.password.min_length}});
}

Result<http::Response> AuthApi::SignUp(http::RequestContext& ctx) {
  if (auto l = Limit("signup-ip:" + ctx.request.remote_ip, limits_.signup_per_ip); !l) {
    return tl::unexpected(l.error());
  }
  if (settings_.disable_signup) {
    return Fail(ErrorCode::kUnprocessable, "signup_disabled",
                "Signups not allowed for this instance");
  }
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  if (auto r = RefuseUnknownMembers(*body, {"email", "password", "data", "gotrue_meta_security",
                                            "code_challenge", "code_challenge_method"});
      !r) {
    return tl::unexpected(r.error());
  }
  auto email = domain::NormalizeEmail(body->value("email", json()));
  if (!email) return tl::unexpected(email.error());
  auto password = domain::CheckPassword(body->value("password", json()), settings_.password);
  if (!password) return tl::unexpected(password.error());
  auto data = domain::CheckMetadata(body->value("data", json()), domain::Metadata::kUser);
  if (!data) return tl::unexpected(data.error());
  if (auto l = Limit("signup-account:" + *email, limits_.signin_per_account); !l) {
    return tl::unexpected(l.error());
  }

  auto hash = hasher_.Hash(*password);
  if (!hash) return tl::unexpected(hash.error());
  const int64_t now = clock_.NowMicros();
  domain::User user = domain::MakeUser(NewUuid(), *email, domain::Role::kUser, now);
  user.password_hash = std::move(*hash);
  user.user_metadata = std::move(*data);
  if (!settings_.require_email_confirmation) user.email_confirmed_at_us = now;
  // Without confirmation the sign-up signs in, in the same transaction: an answer that says
  // nothing changed is then true.
  std::optional<SignIn> sign_in;
  if (!settings_.require_email_confirmation) sign_in = StartSession(ctx, user);
  if (auto created = users_.CreateAccount(
          user,
          audit_.Entry(ActorFor(ctx, user),
                       {"user.create", "user", user.id, user.id, nullptr, GoTrueUser(user)}),
          sign_in ? std::optional<storage::NewSession>(sign_in->session) : std::nullopt);
      !created) {
    if (created.error().reason != "user_already_exists") return tl::unexpected(created.error());
    if (!settings_.require_email_confirmation) {
      return Fail(ErrorCode::kUnprocessable, "user_already_exists", "User already registered");
    }
    // With confirmation on GoTrue answers a look-alike user, so sign-up does not reveal which
    // addresses have accounts.
    domain::User fake = domain::MakeUser(NewUuid(), *email, domain::Role::kUser, now);
    json answer = GoTrueUser(fake);
    answer["identities"] = json::array();
    return http::Response::Json(200, answer);
  }
  audit_.Appended();
  if (!sign_in) return http::Response::Json(200, GoTrueUser(user));
  audit_.Appended();
  return SignedIn(user, *sign_in);
}

AuthApi::SignIn AuthApi::StartSession(http::RequestContext& ctx, const domain::User& user) const {
  const int64_t now = clock_.NowMicros();
  SignIn out;
  out.refresh_token = auth::NewRefreshToken();
  storage::AuthSession session{NewUuid(), user.id, now, now, now};
  out.session.audit =
      audit_.Entry(ActorFor(ctx, user), {"session.create",
                                         "session",
                                         session.id,
                                         user.id,
                                         nullptr,
                                         {{"sessionId", session.id}, {"method", "password"}}});
  out.session.token_hash = auth::RefreshTokenDigest(out.refresh_token);
  out.session.session = std::move(session);
  return out;
}

http::Response AuthApi::SignedIn(const domain::User& user, const SignIn& sign_in) const {
  domain::User signed_in = user;
  signed_in.last_sign_in_at_us = sign_in.session.session.signed_in_at_us;
  return SessionResponse(signed_in, sign_in.session.session, sign_in.refresh_token);
}

Result<http::Response> AuthApi::NewSession(http::RequestContext& ctx, const domain::User& user) {
  const SignIn sign_in = StartSession(ctx, user);
  if (auto r = users_.CreateSession(sign_in.session); !r) return tl::unexpected(r.error());
  audit_.Appended();
  return SignedIn(user, sign_in);
}

http::Response AuthApi::SessionResponse(const domain::User& user,
                                        const storage::AuthSession& session,
                                        const std::string& refresh_token) const {
  const int64_t now_s = clock_.NowSeconds();
  const json claims =
      auth::AccessTokenClaims(settings_.jwt, user, session.id, session.signed_in_at_us / 1'000'000,
                              now_s, settings_.access_token_ttl_seconds);
  return http::Response::Json(200, {{"access_token", signer_.SignJwt(claims)},
                                    {"token_type", "bearer"},
                                    {"expires_in", settings_.access_token_ttl_seconds},
                                    {"expires_at", now_s + settings_.access_token_ttl_seconds},
                                    {"refresh_token", refresh_token},
                                    {"user", GoTrueUser(user)}});
}

Result<http::Response> AuthApi::Token(http::RequestContext& ctx) {
  if (auto l = Limit("token-ip:" + ctx.request.remote_ip, limits_.token_per_ip); !l) {
    return tl::unexpected(l.error());
  }
  auto params = http::ParseQuery(ctx.request.query);
  if (!params) return tl::unexpected(params.error());
  std::string grant;
  for (const auto& [k, v] : *params) {
    if (k == "grant_type") grant = v;
  }
  if (grant != "password" && grant != "refresh_token") {
    return Fail(ErrorCode::kInvalidInput, "invalid_credentials",
                "unsupported_grant_type: use grant_type=password or grant_type=refresh_token");
  }
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  return grant == "password" ? PasswordGrant(ctx, *body) : RefreshGrant(ctx, *body);
}

Result<http::Response> AuthApi::PasswordGrant(http::RequestContext& ctx, const json& body) {
  if (auto r = RefuseUnknownMembers(body, {"email", "password", "gotrue_meta_security"}); !r) {
    return tl::unexpected(r.error());
  }
  auto email = domain::NormalizeEmail(body.value("email", json()));
  if (!email) return tl::unexpected(email.error());
  const json& password_json = body.value("password", json());
  if (!password_json.is_string() || password_json.get_ref<const std::string&>().empty()) {
    return Validation("A password is required");
  }
  const auto& password = password_json.get_ref<const std::string&>();
  if (password.size() > domain::kMaxPasswordInputBytes) {
    return Validation("The password is longer than " +
                      std::to_string(domain::kMaxPasswordInputBytes) + " bytes");
  }
  // Guesses against one account are limited whichever addresses they come from.
  if (auto l = Limit("signin-account:" + *email, limits_.signin_per_account); !l) {
    return tl::unexpected(l.error());
  }
  auto found = users_.FindAccountByEmail(*email);
  if (!found) return tl::unexpected(found.error());
  // Unknown e-mail and wrong password: the same answer after the same argon2id work.
  if (!*found) {
    hasher_.VerifyNothing(password);
    return InvalidCredentials();
  }
  const domain::User& user = **found;
  if (!user.password_hash || !hasher_.Verify(*user.password_hash, password)) {
    return InvalidCredentials();
  }
  if (!user.email_confirmed_at_us) {
    return Fail(ErrorCode::kInvalidInput, "email_not_confirmed", "Email not confirmed");
  }
  if (domain::IsBanned(user, clock_.NowMicros())) {
    return Fail(ErrorCode::kInvalidInput, "user_banned", "User is banned");
  }
  return NewSession(ctx, user);
}

Result<http::Response> AuthApi::RefreshGrant(http::RequestContext& ctx, const json& body) {
  if (auto r = RefuseUnknownMembers(body, {"refresh_token"}); !r) return tl::unexpected(r.error());
  const json& token = body.value("refresh_token", json());
  if (!token.is_string() || token.get_ref<const std::string&>().empty()) {
    return Validation("refresh_token required");
  }
  if (token.get_ref<const std::string&>().size() > 512) {
    return Fail(ErrorCode::kInvalidInput, "refresh_token_not_found",
                "Invalid Refresh Token: Refresh Token Not Found");
  }
  const std::string digest = auth::RefreshTokenDigest(token.get<std::string>());
  // Per-account limit before the token is used: a refused refresh must not rotate it.
  auto owner = users_.RefreshTokenOwner(digest);
  if (!owner) return tl::unexpected(owner.error());
  if (*owner) {
    if (auto l = Limit("refresh-account:" + **owner, limits_.refresh_per_account); !l) {
      return tl::unexpected(l.error());
    }
  }
  const std::string next = auth::NewRefreshToken();
  const int64_t now = clock_.NowMicros();
  auto outcome =
      users_.RefreshSession(digest, auth::RefreshTokenDigest(next), now,
                            settings_.refresh_reuse_interval_seconds * 1'000'000,
                            audit_.Entry(ActorFor(ctx), {"session.revoke",
                                                         "session",
                                                         std::nullopt,
                                                         std::nullopt,
                                                         nullptr,
                                                         {{"reason", "refresh token reused"}}}));
  if (!outcome) return tl::unexpected(outcome.error());
  using Kind = storage::RefreshOutcome::Kind;
  if (outcome->kind == Kind::kNotFound) {
    return Fail(ErrorCode::kInvalidInput, "refresh_token_not_found",
                "Invalid Refresh Token: Refresh Token Not Found");
  }
  if (outcome->kind == Kind::kReused) {
    // The session is gone; which user it was is not known any more, so cached states of it
    // lapse by themselves within TokenAuthenticator::kSessionCheckSeconds.
    audit_.Appended();
    return Fail(ErrorCode::kInvalidInput, "refresh_token_already_used",
                "Invalid Refresh Token: Already Used");
  }
  auto user = users_.GetUser(outcome->session.user_id);
  if (!user) return tl::unexpected(user.error());
  if (!*user) {
    return Fail(ErrorCode::kInvalidInput, "refresh_token_not_found",
                "Invalid Refresh Token: Refresh Token Not Found");
  }
  if (domain::IsBanned(**user, now)) {
    return Fail(ErrorCode::kInvalidInput, "user_banned", "User is banned");
  }
  return SessionResponse(**user, outcome->session, next);
}

Result<AuthApi::Caller> AuthApi::Authenticate(const http::RequestContext& ctx) {
  const auto token = BearerToken(ctx.request);
  if (!token) {
    return Fail(ErrorCode::kUnauthenticated, "no_authorization",
                "This endpoint requires a Bearer token");
  }
  auto verified = verifier_.Verify(*token);
  if (!verified || !verified->principal.user_id) {
    return Fail(ErrorCode::kForbidden, "bad_jwt",
                "invalid JWT: unable to parse or verify signature, token is invalid or expired");
  }
  const auto sid = verified->Claims().find("session_id");
  std::optional<std::string> session_id;
  if (sid != verified->Claims().end() && sid->is_string()) {
    session_id = NormalizeUuid(sid->get_ref<const std::string&>());
  }
  if (!session_id) {
    return Fail(ErrorCode::kForbidden, "session_not_found",
                "Session from session_id claim in JWT does not exist");
  }
  auto session = users_.GetSession(*session_id);
  if (!session) return tl::unexpected(session.error());
  if (!*session || (*session)->user_id != *verified->principal.user_id) {
    return Fail(ErrorCode::kForbidden, "session_not_found",
                "Session from session_id claim in JWT does not exist");
  }
  auto user = users_.GetUser((*session)->user_id);
  if (!user) return tl::unexpected(user.error());
  if (!*user)
    return Fail(ErrorCode::kForbidden, "user_not_found",
                "User from sub claim in JWT does not exist");
  if (domain::IsBanned(**user, clock_.NowMicros())) {
    return Fail(ErrorCode::kForbidden, "user_banned", "User is banned");
  }
  return Caller{std::move(**user), std::move(**session)};
}

Result<http::Response> AuthApi::GetUser(http::RequestContext& ctx) {
  auto caller = Authenticate(ctx);
  if (!caller) return tl::unexpected(caller.error());
  return http::Response::Json(200, GoTrueUser(caller->user));
}

Result<http::Response> AuthApi::UpdateUser(http::RequestContext& ctx) {
  if (auto l = Limit("update-user-ip:" + ctx.request.remote_ip, limits_.signup_per_ip); !l) {
    return tl::unexpected(l.error());
  }
  auto caller = Authenticate(ctx);
  if (!caller) return tl::unexpected(caller.error());
  auto body = ParseObjectBody(ctx.request);
  if (!body) return tl::unexpected(body.error());
  if (body->contains("app_metadata")) {
    return Fail(ErrorCode::kForbidden, "not_admin", "User not allowed to set app_metadata");
  }
  if (auto r = RefuseUnknownMembers(
          *body, {"email", "password", "data", "nonce", "code_challenge", "code_challenge_method"});
      !r) {
    return tl::unexpected(r.error());
  }
  const domain::User before = caller->user;
  domain::User user = caller->user;
  bool password_changed = false;
  if (body->contains("data")) {
    auto data = domain::CheckMetadata((*body)["data"], domain::Metadata::kUser);
    if (!data) return tl::unexpected(data.error());
    user.user_metadata = domain::MergeMetadata(user.user_metadata, *data);
    if (auto size = domain::CheckMetadata(user.user_metadata, domain::Metadata::kUser); !size) {
      return tl::unexpected(size.error());
    }
  }
  if (body->contains("email")) {
    auto email = domain::NormalizeEmail((*body)["email"]);
    if (!email) return tl::unexpected(email.error());
    user.email = *email;
  }
  if (body->contains("password")) {
    auto password = domain::CheckPassword((*body)["password"], settings_.password);
    if (!password) return tl::unexpected(password.error());
    if (user.password_hash && hasher_.Verify(*user.password_hash, *password)) {
      return Fail(ErrorCode::kUnprocessable, "same_password",
                  "New password should be different from the old password.");
    }
    auto hash = hasher_.Hash(*password);
    if (!hash) return tl::unexpected(hash.error());
    user.password_hash = std::move(*hash);
    password_changed = true;
  }
  user.updated_at_us = clock_.NowMicros();
  json after_json = GoTrueUser(user);
  if (password_changed) after_json["password"] = "changed";
  auto updated = users_.UpdateUser(
      user, audit_.Entry(ActorFor(ctx, user), {"user.update", "user", user.id, user.id,
                                               GoTrueUser(before), std::move(after_json)}));
  if (!updated) {
    if (updated.error().reason == "email_exists") {
      return Fail(ErrorCode::kUnprocessable, "email_exists",
                  "A user with this email address has already been registered");
    }
    return tl::unexpected(updated.error());
  }
  if (!*updated) return Fail(ErrorCode::kForbidden, "user_not_found", "User not found");
  audit_.Appended();
  if (password_changed) {
    // A new password ends every other session (audited with the update); this one stays
    // signed in.
    auto ended = users_.EndSessions(user.id, storage::SessionScope::kOthers, caller->session.id,
                                    std::nullopt);
    if (!ended) return tl::unexpected(ended.error());
    authenticator_.ForgetSessionsOf(user.id);
  }
  return http::Response::Json(200, GoTrueUser(user));
}

Result<http::Response> AuthApi::Logout(http::RequestContext& ctx) {
  auto params = http::ParseQuery(ctx.request.query);
  if (!params) return tl::unexpected(params.error());
  storage::SessionScope scope = storage::SessionScope::kAll;
  for (const auto& [k, v] : *params) {
    if (k != "scope") continue;
    if (v == "global") {
      scope = storage::SessionScope::kAll;
    } else if (v == "local") {
      scope = storage::SessionScope::kOnly;
    } else if (v == "others") {
      scope = storage::SessionScope::kOthers;
    } else {
      return Validation("scope must be global, local or others");
    }
  }
  auto caller = Authenticate(ctx);
  if (!caller) return tl::unexpected(caller.error());
  const char* scope_name = scope == storage::SessionScope::kAll    ? "global"
                           : scope == storage::SessionScope::kOnly ? "local"
                                                                   : "others";
  auto ended =
      users_.EndSessions(caller->user.id, scope, caller->session.id,
                         audit_.Entry(ActorFor(ctx, caller->user), {"session.end",
                                                                    "session",
                                                                    caller->session.id,
                                                                    caller->user.id,
                                                                    nullptr,
                                                                    {{"scope", scope_name}}}));
  if (!ended) return tl::unexpected(ended.error());
  audit_.Appended();
  authenticator_.ForgetSessionsOf(caller->user.id);
  return http::Response::Empty(204);
}

}  // namespace assistantd::api
