#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/base64url.hpp"
#include "common/json_util.hpp"
#include "common/uuid.hpp"

namespace assistantd::auth {
namespace {

tl::unexpected<Error> Unauthenticated(std::string reason, std::string message) {
  return Fail(ErrorCode::kUnauthenticated, std::move(reason), std::move(message));
}

const EVP_MD* Digest(std::string_view algorithm) {
  if (algorithm == "HS256") return EVP_sha256();
  if (algorithm == "HS384") return EVP_sha384();
  if (algorithm == "HS512") return EVP_sha512();
  return nullptr;
}

std::string Hmac(const std::string& key, std::string_view algorithm, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(Digest(algorithm), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// A NumericDate claim: absent → nullopt; present but not a number → error.
Result<std::optional<double>> NumericDate(const nlohmann::json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number()) {
    return Unauthenticated("invalid_token", std::string("Claim ") + name + " must be a number");
  }
  return std::optional<double>(it->get<double>());
}

bool AudienceMatches(const nlohmann::json& aud, const std::string& expected) {
  if (aud.is_string()) return aud.get_ref<const std::string&>() == expected;
  if (aud.is_array()) {
    for (const auto& a : aud) {
      if (a.is_string() && a.get_ref<const std::string&>() == expected) return true;
    }
  }
  return false;
}

// Role from the `role` claim; a generic "authenticated" (or absent) role is refined by
// app_metadata.role, which only the server side can set. user_metadata is never read.
std::optional<std::string> RoleName(const nlohmann::json& claims) {
  std::optional<std::string> role;
  if (const auto it = claims.find("role"); it != claims.end() && it->is_string()) {
    role = it->get<std::string>();
  }
  if (!role || *role == "authenticated") {
    const auto app = claims.find("app_metadata");
    if (app != claims.end() && app->is_object()) {
      const auto r = app->find("role");
      if (r != app->end() && r->is_string() && r->get_ref<const std::string&>() != "service_role") {
        return r->get<std::string>();
      }
    }
  }
  return role;
}

}  // namespace

bool IsSupportedAlgorithm(std::string_view algorithm) { return Digest(algorithm) != nullptr; }

Result<nlohmann::json> JwtVerifier::VerifySignedClaims(std::string_view token) const {
  if (token.empty()) return Unauthenticated("missing_token", "Bearer token is empty");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("invalid_token", "Token is too long");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated("invalid_token", "Token is not a JWS compact serialization");
  }
  const auto header_raw = Base64UrlDecode(token.substr(0, dot1));
  const auto payload_raw = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header_raw || !payload_raw || !signature) {
    return Unauthenticated("invalid_token", "Token is not valid base64url");
  }
  auto header = ParseJsonStrict(*header_raw, 4);
  if (!header || !header->is_object()) {
    return Unauthenticated("invalid_token", "Token header is not a valid JSON object");
  }
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() ||
      alg->get_ref<const std::string&>() != settings_.algorithm) {
    return Unauthenticated("invalid_token", "Token algorithm is not the configured one");
  }
  if (header->contains("crit")) {
    return Unauthenticated("invalid_token", "Token has unsupported critical header parameters");
  }
  const std::string expected =
      Hmac(settings_.secret, settings_.algorithm, token.substr(0, dot2));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return Unauthenticated("invalid_token", "Token signature is invalid");
  }
  auto claims = ParseJsonStrict(*payload_raw, 8);
  if (!claims || !claims->is_object()) {
    return Unauthenticated("invalid_token", "Token claims are not a valid JSON object");
  }
  return claims;
}

Result<VerifiedToken> JwtVerifier::Verify(std::string_view token) const {
  auto claims_or = VerifySignedClaims(token);
  if (!claims_or) return tl::unexpected(claims_or.error());
  const nlohmann::json& claims = *claims_or;

  const double now = static_cast<double>(clock_.NowSeconds());
  const double leeway = static_cast<double>(settings_.leeway_seconds);
  auto exp = NumericDate(claims, "exp");
  if (!exp) return tl::unexpected(exp.error());
  if (!*exp) return Unauthenticated("invalid_token", "Token has no exp claim");
  if (**exp + leeway <= now) return Unauthenticated("token_expired", "Token has expired");
  auto nbf = NumericDate(claims, "nbf");
  if (!nbf) return tl::unexpected(nbf.error());
  if (*nbf && **nbf - leeway > now) return Unauthenticated("invalid_token", "Token is not valid yet");
  auto iat = NumericDate(claims, "iat");
  if (!iat) return tl::unexpected(iat.error());
  if (*iat && **iat - leeway > now) {
    return Unauthenticated("invalid_token", "Token was issued in the future");
  }
  if (settings_.issuer) {
    const auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != *settings_.issuer) {
      return Unauthenticated("invalid_token", "Token issuer is not accepted");
    }
  }

  const auto role_name = RoleName(claims);
  const bool service = role_name && *role_name == "service_role";
  if (settings_.audience) {
    const auto aud = claims.find("aud");
    if (aud == claims.end()) {
      // Supabase's service_role key carries no aud.
      if (!service) return Unauthenticated("invalid_audience", "Token has no aud claim");
    } else if (!AudienceMatches(*aud, *settings_.audience)) {
      return Unauthenticated("invalid_audience", "Token audience is not accepted");
    }
  }

  VerifiedToken out;
  out.claims = claims;
  const auto sub = claims.find("sub");
  if (sub != claims.end() && !sub->is_string()) {
    return Unauthenticated("invalid_token", "Claim sub must be a string");
  }
  if (service) {
    out.principal.role = domain::Role::kServiceRole;
  } else {
    if (sub == claims.end()) {
      return Unauthenticated("missing_sub_claim", "Token has no sub claim");
    }
    if (role_name && *role_name == "anon") {
      return Unauthenticated("invalid_token", "The anon role cannot use this API");
    }
    const auto role = role_name ? domain::ParseRole(*role_name) : domain::Role::kUser;
    if (!role) return Fail(ErrorCode::kForbidden, "unknown_role", "Token role is not recognised");
    out.principal.role = *role;
  }
  if (sub != claims.end()) {
    const auto id = NormalizeUuid(sub->get_ref<const std::string&>());
    if (!id) return Unauthenticated("invalid_token", "Claim sub must be a UUID");
    out.principal.user_id = *id;
  }
  if (const auto email = claims.find("email"); email != claims.end() && email->is_string()) {
    out.principal.email = email->get<std::string>();
  }
  return out;
}

std::string SignatureFor(const JwtSettings& settings, std::string_view signing_input) {
  return Base64UrlEncode(Hmac(settings.secret, settings.algorithm, signing_input));
}

std::string SignJwt(const JwtSettings& settings, const nlohmann::json& claims) {
  const nlohmann::json header = {{"alg", settings.algorithm}, {"typ", "JWT"}};
  const std::string signing_input =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  return signing_input + "." + SignatureFor(settings, signing_input);
}

nlohmann::json MakeClaims(const JwtSettings& settings, const std::optional<std::string>& sub,
                          std::string_view role, const std::optional<std::string>& email,
                          int64_t now_seconds, int64_t ttl_seconds) {
  nlohmann::json claims = {{"role", role}, {"iat", now_seconds}, {"exp", now_seconds + ttl_seconds}};
  if (sub) claims["sub"] = *sub;
  if (settings.audience && role != "service_role") claims["aud"] = *settings.audience;
  if (settings.issuer) claims["iss"] = *settings.issuer;
  if (email) claims["email"] = *email;
  return claims;
}

}  // namespace assistantd::auth
