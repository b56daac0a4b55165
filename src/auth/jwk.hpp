#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

// EVP_PKEY stays an OpenSSL detail of jwk.cpp.
struct evp_pkey_st;

namespace assistantd::auth {

// The JWS algorithms assistantd verifies and signs (RFC 7518 §3, RFC 8037).
enum class JwsAlgorithm { kHS256, kHS384, kHS512, kRS256, kES256, kEdDSA };

std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name);
std::string_view ToString(JwsAlgorithm algorithm);
bool IsHmac(JwsAlgorithm algorithm);

// Where a verification key came from: our own secret or signing keys, or a key set the
// operator pointed us at (--jwks-url, --jwks-file) whose tokens another issuer signs.
enum class KeyOrigin { kOwn, kExternal };

// One verification key, bound to exactly one algorithm (RFC 8725 §3.1): an HMAC secret for
// HS*, or a public key (RSA >= 2048 bits, P-256, Ed25519). Immutable and cheap to copy.
class VerificationKey {
 public:
  static VerificationKey Hmac(std::string kid, JwsAlgorithm algorithm, std::string secret,
                              KeyOrigin origin = KeyOrigin::kOwn);

  const std::string& kid() const { return kid_; }
  JwsAlgorithm algorithm() const { return algorithm_; }
  KeyOrigin origin() const { return origin_; }
  // True if `signature` is this key's signature of `signing_input` ("header.payload"). ES256
  // signatures are the raw 64-byte R || S of RFC 7518 §3.4 (DER and out-of-range values fail).
  bool Verify(std::string_view signing_input, std::string_view signature) const;
  // The public JWK as GoTrue publishes it (kty, crv/x/y or n/e, kid, alg, use, key_ops, ext);
  // nullopt for an HMAC secret, which is never published.
  std::optional<nlohmann::json> PublicJwk() const;

 private:
  friend class SigningKey;
  friend Result<VerificationKey> ParsePublicJwk(const nlohmann::json& jwk, KeyOrigin origin);
  std::string kid_;
  JwsAlgorithm algorithm_ = JwsAlgorithm::kHS256;
  KeyOrigin origin_ = KeyOrigin::kOwn;
  std::string secret_;                 // HS*
  std::shared_ptr<evp_pkey_st> pkey_;  // the others
};

// A private key that signs our tokens (never an HMAC secret: those sign through JwtSettings).
class SigningKey {
 public:
  const std::string& kid() const { return kid_; }
  JwsAlgorithm algorithm() const { return algorithm_; }
  // The base64url signature of `signing_input` (ES256: raw R || S).
  std::string Sign(std::string_view signing_input) const;
  // A compact JWS of `claims` with alg, typ and kid in the header.
  std::string SignJwt(const nlohmann::json& claims) const;
  VerificationKey Public(KeyOrigin origin = KeyOrigin::kOwn) const;
  // The private JWK (RFC 7517/7518 members, as GOTRUE_JWT_KEYS holds them), key_ops as given.
  nlohmann::json PrivateJwk(const std::vector<std::string>& key_ops) const;

 private:
  friend Result<SigningKey> ParsePrivateJwk(const nlohmann::json& jwk);
  friend Result<SigningKey> GenerateSigningKey(JwsAlgorithm algorithm, std::string kid);
  std::string kid_;
  JwsAlgorithm algorithm_ = JwsAlgorithm::kES256;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// A public JWK: kty/crv/alg must agree (EC + P-256 = ES256, RSA = RS256 with a >= 2048-bit
// modulus, OKP + Ed25519 = EdDSA, oct = HS* with "k"); `alg` may be left out only where the
// key type implies one algorithm (EC, OKP). `use`, when present, must be "sig"; `key_ops`,
// when present, must include "verify". Private members are ignored.
Result<VerificationKey> ParsePublicJwk(const nlohmann::json& jwk, KeyOrigin origin);

// A JWK Set ({"keys": [...]}): every usable key, and for each unusable one a line in `skipped`
// saying why (an unknown key type must not hide the others). No usable key is an error.
Result<std::vector<VerificationKey>> ParseJwks(const nlohmann::json& jwks, KeyOrigin origin,
                                               std::vector<std::string>* skipped);

// A private JWK (EC with d, RSA with d/p/q/dp/dq/qi, OKP with d) with a kid.
Result<SigningKey> ParsePrivateJwk(const nlohmann::json& jwk);

// A new key pair: ES256 (P-256), RS256 (2048 bits) or EdDSA (Ed25519).
Result<SigningKey> GenerateSigningKey(JwsAlgorithm algorithm, std::string kid);

}  // namespace assistantd::auth
