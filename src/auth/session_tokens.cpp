#include "auth/session_tokens.hpp"

#include "common/encoding.hpp"
#include "common/sha256.hpp"

namespace assistantd::auth {

std::string NewRefreshToken() { return Base64UrlEncode(RandomBytes(32)); }

std::string RefreshTokenDigest(std::string_view token) { return Sha256Hex(token); }

nlohmann::json PublicAppMetadata(const domain::User& user) {
  nlohmann::json app = user.app_metadata.is_object() ? user.app_metadata : nlohmann::json::object();
  app["provider"] = "email";
  app["providers"] = nlohmann::json::array({"email"});
  app["role"] = domain::ToString(user.role);
  return app;
}

nlohmann::json AccessTokenClaims(const JwtSettings& settings, const domain::User& user,
                                 const std::string& session_id, int64_t signed_in_at_seconds,
                                 int64_t now_seconds, int64_t ttl_seconds) {
  return {{"iss", settings.issuer.value_or(kDefaultIssuer)},
          {"sub", user.id},
          {"aud", settings.audience.value_or("authenticated")},
          {"exp", now_seconds + ttl_seconds},
          {"iat", now_seconds},
          {"email", user.email.value_or("")},
          {"phone", ""},
          {"app_metadata", PublicAppMetadata(user)},
          {"user_metadata", user.user_metadata},
          {"role", "authenticated"},
          {"aal", "aal1"},
          {"amr",
           nlohmann::json::array({{{"method", "password"}, {"timestamp", signed_in_at_seconds}}})},
          {"session_id", session_id},
          {"is_anonymous", false}};
}

}  // namespace assistantd::auth
