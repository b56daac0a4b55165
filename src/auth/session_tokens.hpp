#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "domain/user.hpp"

namespace assistantd::auth {

// The iss of the access tokens /auth/v1 issues when no --jwt-issuer is configured.
inline constexpr const char* kDefaultIssuer = "assistantd";

// A new opaque refresh token: 256 random bits, base64url (43 characters).
std::string NewRefreshToken();

// What the database keeps of a refresh token: its SHA-256, hex. The token has 256 bits of
// entropy, so a fast hash is enough; a stolen table yields no usable token.
std::string RefreshTokenDigest(std::string_view token);

// The claims of an access token for `user` in session `session_id`, as Supabase Auth issues
// them (iss, sub, aud, exp, iat, email, phone, app_metadata with our role, user_metadata,
// role "authenticated", aal, amr, session_id, is_anonymous).
nlohmann::json AccessTokenClaims(const JwtSettings& settings, const domain::User& user,
                                 const std::string& session_id, int64_t signed_in_at_seconds,
                                 int64_t now_seconds, int64_t ttl_seconds);

// app_metadata as clients see it: provider, providers, our role and admin-set keys.
nlohmann::json PublicAppMetadata(const domain::User& user);

}  // namespace assistantd::auth
