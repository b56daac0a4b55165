#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "domain/principal.hpp"

namespace assistantd::auth {

inline constexpr size_t kMinSecretBytes = 32;
inline constexpr size_t kMaxTokenBytes = 8192;

struct JwtSettings {
  std::string secret;                               // HMAC key, as Supabase uses it: raw bytes
  std::string algorithm = "HS256";                  // pinned: HS256, HS384 or HS512
  std::optional<std::string> audience = "authenticated";  // nullopt: aud not checked
  std::optional<std::string> issuer;                // checked when set
  int64_t leeway_seconds = 30;
};

// True if `algorithm` is one JwtSettings supports.
bool IsSupportedAlgorithm(std::string_view algorithm);

// A verified token: the principal it establishes and its claims.
struct VerifiedToken {
  domain::Principal principal;
  nlohmann::json claims;
};

// Verifies bearer tokens against the configured secret and algorithm and maps their claims to
// a Principal (C3/C4). Errors are kUnauthenticated with reasons missing_token, invalid_token,
// token_expired, missing_sub_claim or invalid_audience; a role we do not know is kForbidden.
class JwtVerifier {
 public:
  JwtVerifier(JwtSettings settings, const Clock& clock)
      : settings_(std::move(settings)), clock_(clock) {}

  Result<VerifiedToken> Verify(std::string_view token) const;

 private:
  Result<nlohmann::json> VerifySignedClaims(std::string_view token) const;

  JwtSettings settings_;
  const Clock& clock_;
};

// The base64url signature of a JWS signing input ("header.payload").
std::string SignatureFor(const JwtSettings& settings, std::string_view signing_input);

// Signs claims with the configured secret and algorithm (for `assistantd token` and tests).
std::string SignJwt(const JwtSettings& settings, const nlohmann::json& claims);

// The claims `assistantd token` issues: sub (if any), role, aud (if configured), iss (if
// configured), email (if any), iat, exp = iat + ttl.
nlohmann::json MakeClaims(const JwtSettings& settings, const std::optional<std::string>& sub,
                          std::string_view role, const std::optional<std::string>& email,
                          int64_t now_seconds, int64_t ttl_seconds);

}  // namespace assistantd::auth
