#pragma once

#include <cstdint>

#include "api/token_authenticator.hpp"
#include "audit/audit_log.hpp"
#include "auth/jwt.hpp"
#include "auth/password_hasher.hpp"
#include "auth/signing_keys.hpp"
#include "common/clock.hpp"
#include "domain/account_rules.hpp"
#include "http/router.hpp"
#include "limits/limits_policy.hpp"
#include "limits/rate_limiter.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

struct AuthSettings {
  auth::JwtSettings jwt;  // iss and aud of the access tokens
  int64_t access_token_ttl_seconds = 3600;
  int64_t refresh_reuse_interval_seconds = 10;
  domain::PasswordPolicy password;
  bool require_email_confirmation = false;  // off: sign-up returns a session at once
  bool disable_signup = false;
};

// The Supabase Auth (GoTrue) subset under /auth/v1 that @supabase/supabase-js calls:
// signup, token (password and refresh_token grants), user (GET, PUT), logout, settings,
// health. Answers and errors follow GoTrue's shapes (spec/supabase-compat.md); errors also
// carry our {"error": {...}} object.
class AuthApi {
 public:
  AuthApi(AuthSettings settings, storage::UserStore& users, const auth::JwtVerifier& verifier,
          const auth::PasswordHasher& hasher, limits::RateLimiter& limiter,
          const limits::LimitsSettings& limits, audit::AuditLog& audit,
          TokenAuthenticator& authenticator, const auth::SigningKeys& signer, const Clock& clock)
      : settings_(std::move(settings)),
        signer_(signer),
        users_(users),
        authenticator_(authenticator),
        verifier_(verifier),
        hasher_(hasher),
        limiter_(limiter),
        limits_(limits),
        audit_(audit),
        clock_(clock) {}

  void Register(http::Router& router);

 private:
  struct Caller {
    domain::User user;
    storage::AuthSession session;
  };

  Result<http::Response> SignUp(http::RequestContext& ctx);
  Result<http::Response> Token(http::RequestContext& ctx);
  Result<http::Response> PasswordGrant(http::RequestContext& ctx, const nlohmann::json& body);
  Result<http::Response> RefreshGrant(http::RequestContext& ctx, const nlohmann::json& body);
  Result<http::Response> GetUser(http::RequestContext& ctx);
  Result<http::Response> UpdateUser(http::RequestContext& ctx);
  Result<http::Response> Logout(http::RequestContext& ctx);
  Result<http::Response> Settings(http::RequestContext& ctx);

  // The signed-in caller of /user and /logout: a valid access token of a live session.
  Result<Caller> Authenticate(const http::RequestContext& ctx);
  // Starts a session for `user` and answers it (GoTrue's AccessTokenResponse).
  // A password sign-in: the session to store and the refresh token to hand out.
  struct SignIn {
    storage::NewSession session;
    std::string refresh_token;
  };
  SignIn StartSession(http::RequestContext& ctx, const domain::User& user) const;
  http::Response SignedIn(const domain::User& user, const SignIn& sign_in) const;
  // Starts a session for `user` and answers with its tokens.
  Result<http::Response> NewSession(http::RequestContext& ctx, const domain::User& user);
  http::Response SessionResponse(const domain::User& user, const storage::AuthSession& session,
                                 const std::string& refresh_token) const;
  // 429 over_request_rate_limit when `key` is over `limit`.
  Result<void> Limit(const std::string& key, const limits::RateLimit& limit);

  AuthSettings settings_;
  const auth::SigningKeys& signer_;
  storage::UserStore& users_;
  TokenAuthenticator& authenticator_;
  const auth::JwtVerifier& verifier_;
  const auth::PasswordHasher& hasher_;
  limits::RateLimiter& limiter_;
  const limits::LimitsSettings& limits_;
  audit::AuditLog& audit_;
  const Clock& clock_;
};

// A user as Supabase Auth answers it (GoTrue field names).
nlohmann::json GoTrueUser(const domain::User& user);

}  // namespace assistantd::api
