#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/jwk.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "domain/principal.hpp"

namespace assistantd::auth {

inline constexpr size_t kMinSecretBytes = 32;
inline constexpr size_t kMaxTokenBytes = 8192;

struct JwtSettings {
  std::string secret;               // HMAC key, as Supabase uses it: raw bytes
  std::string algorithm = "HS256";  // the secret's: HS256, HS384 or HS512
  // Further HMAC secrets (same algorithm) that verify tokens but never sign: a secret being
  // rotated in or out while several instances change over one by one.
  std::vector<std::string> accepted_secrets;
  std::optional<std::string> audience = "authenticated";  // nullopt: aud not checked
  std::optional<std::string> issuer;                      // checked when set
  int64_t leeway_seconds = 30;
  // Algorithms a token may name; empty: those of the configured keys (each key binds one).
  std::vector<JwsAlgorithm> allowed_algorithms;
  // An app_metadata.role that is not one of ours: false treats the caller as a plain user
  // (Supabase projects put their own roles there), true refuses the token (403 unknown_role).
  bool strict_roles = false;
  // Tokens with the test role are refused (403 test_role_disabled): production deployments.
  bool refuse_test_role = false;
};

// True if `algorithm` is an HMAC algorithm the shared secret can use (HS256/384/512).
bool IsSupportedAlgorithm(std::string_view algorithm);

// A verified token: the principal it establishes, its claims and which key verified it.
struct VerifiedToken {
  domain::Principal principal;
  std::shared_ptr<const nlohmann::json> claims;
  KeyOrigin origin = KeyOrigin::kOwn;
  const nlohmann::json& Claims() const { return *claims; }
};

// The verification keys in force, replaced whole when any source changes.
struct KeySet {
  std::vector<VerificationKey> keys;
  uint64_t generation = 0;  // changes whenever the keys change
};

// Where a verifier gets its keys.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual std::shared_ptr<const KeySet> Keys() const = 0;
  // A token named a kid that no key has: look again if a source allows it now (a remote
  // JWKS, at most once per interval). True if the keys may have changed.
  virtual bool RefreshForUnknownKid() { return false; }
};

// Keys from named parts ("secret", "jwks-file", "jwks-url", "signing-keys"), each replaced
// whole by its owner; readers get an immutable snapshot.
class KeyRegistry final : public KeyProvider {
 public:
  KeyRegistry();
  std::shared_ptr<const KeySet> Keys() const override;
  bool RefreshForUnknownKid() override;

  void SetPart(const std::string& name, std::vector<VerificationKey> keys);
  // Called by RefreshForUnknownKid (the remote JWKS source registers itself).
  void SetUnknownKidRefresher(std::function<bool()> refresher);

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::vector<VerificationKey>>> parts_;
  std::shared_ptr<const KeySet> snapshot_;
  std::function<bool()> refresher_;
};

// Verifies bearer tokens and maps their claims to a Principal (C3/C4). The key is chosen by
// the token's kid and must bind the token's alg (RFC 8725): a token without kid is accepted
// only when exactly one key has its algorithm (or, for our HMAC secrets, when one of them
// verifies it); jku/x5u/x5c/jwk headers are never used.
// Signature checks are cached by token digest until exp (re-done when the keys change).
// Errors are kUnauthenticated with reasons missing_token, invalid_token, token_expired,
// missing_sub_claim or invalid_audience; a role we do not know is kForbidden.
class JwtVerifier {
 public:
  // Verifies with the HMAC secret of `settings` only.
  JwtVerifier(JwtSettings settings, const Clock& clock);
  // Verifies with whatever `keys` holds (which must outlive the verifier).
  JwtVerifier(JwtSettings settings, KeyProvider& keys, const Clock& clock);

  // `may_fetch` false: kWouldBlock instead of fetching the key set for an unknown kid.
  Result<VerifiedToken> Verify(std::string_view token, bool may_fetch = true) const;
  // For a legacy API key (a JWT with role anon or service_role and no sub or aud): its role
  // claim, once the signature and expiry are checked.
  Result<std::string> VerifyKeyRole(std::string_view token) const;

 private:
  struct Checked {
    std::shared_ptr<const nlohmann::json> claims;
    KeyOrigin origin = KeyOrigin::kOwn;
  };
  Result<Checked> VerifySignature(std::string_view token, const KeySet& keys,
                                  bool* unknown_kid) const;
  Result<VerifiedToken> CheckClaims(const Checked& checked) const;

  // A token that passed every check: until exp it passes them again (nbf and iat lie in its
  // past already), so a hit only looks at the clock.
  struct CacheEntry {
    VerifiedToken verified;
    uint64_t generation = 0;
    int64_t exp = 0;
  };
  struct CacheShard {
    std::mutex mu;
    std::unordered_map<std::string, CacheEntry> entries;
  };
  static constexpr size_t kCacheShards = 16;
  static constexpr size_t kCacheEntriesPerShard = 1024;  // 16 Ki tokens, a few MiB at most

  JwtSettings settings_;
  std::unique_ptr<KeyRegistry> own_keys_;  // set by the secret-only constructor
  KeyProvider& keys_;
  const Clock& clock_;
  mutable std::array<CacheShard, kCacheShards> cache_;
};

// The verification key of an HMAC secret (kid "", so it verifies tokens without kid and,
// as GoTrue does, HS tokens whose kid names no other key).
VerificationKey SecretKey(const JwtSettings& settings, KeyOrigin origin = KeyOrigin::kOwn);
// That key, then one per accepted secret (kid "" too: a token without kid may be verified by
// any of them, the only case where several keys are tried).
std::vector<VerificationKey> SecretKeys(const JwtSettings& settings,
                                        KeyOrigin origin = KeyOrigin::kOwn);

// The base64url signature of a JWS signing input ("header.payload") with the secret.
std::string SignatureFor(const JwtSettings& settings, std::string_view signing_input);

// Signs claims with the configured secret and algorithm (for `assistantd token` and tests).
std::string SignJwt(const JwtSettings& settings, const nlohmann::json& claims);

// The claims `assistantd token` issues: sub (if any), role, aud (if configured), iss (if
// configured), email (if any), iat, exp = iat + ttl.
nlohmann::json MakeClaims(const JwtSettings& settings, const std::optional<std::string>& sub,
                          std::string_view role, const std::optional<std::string>& email,
                          int64_t now_seconds, int64_t ttl_seconds);

}  // namespace assistantd::auth
