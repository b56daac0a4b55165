#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>

#include "common/encoding.hpp"
#include "common/json_util.hpp"
#include "common/uuid.hpp"

namespace assistantd::auth {
namespace {

tl::unexpected<Error> Unauthenticated(std::string reason, std::string message) {
  return Fail(ErrorCode::kUnauthenticated, std::move(reason), std::move(message));
}

JwsAlgorithm SecretAlgorithm(const JwtSettings& settings) {
  const auto alg = ParseJwsAlgorithm(settings.algorithm);
  return alg && IsHmac(*alg) ? *alg : JwsAlgorithm::kHS256;
}

// The latest NumericDate accepted: 9999-12-31T23:59:59Z. Beyond it a date is not a date but
// a way to say "never expires".
constexpr int64_t kMaxNumericDate = 253402300799;

// A NumericDate claim: absent → nullopt; present, it must be a number of seconds from 0 to
// kMaxNumericDate (RFC 7519 allows a fraction, dropped here); 1e20, a value past int64 or a
// negative one is refused, never read as "never expires".
Result<std::optional<int64_t>> NumericDate(const nlohmann::json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<int64_t>();
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() <= static_cast<uint64_t>(kMaxNumericDate)) {
      return std::optional<int64_t>(static_cast<int64_t>(it->get<uint64_t>()));
    }
  } else if (it->is_number_integer()) {
    if (it->get<int64_t>() >= 0 && it->get<int64_t>() <= kMaxNumericDate) {
      return std::optional<int64_t>(it->get<int64_t>());
    }
  } else if (it->is_number_float()) {
    const double v = it->get<double>();
    if (v >= 0 && v <= static_cast<double>(kMaxNumericDate)) {
      return std::optional<int64_t>(static_cast<int64_t>(v));
    }
  }
  return Unauthenticated("invalid_token",
                         std::string("Claim ") + name + " must be a NumericDate in range");
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

// The role claim, and app_metadata.role when the role claim is the generic "authenticated"
// (or absent): only the server side can set app_metadata. user_metadata is never read.
struct RoleNames {
  std::optional<std::string> role;
  std::optional<std::string> app_role;
};

RoleNames RoleNamesOf(const nlohmann::json& claims) {
  RoleNames out;
  if (const auto it = claims.find("role"); it != claims.end() && it->is_string()) {
    out.role = it->get<std::string>();
  }
  if (!out.role || *out.role == "authenticated") {
    const auto app = claims.find("app_metadata");
    if (app != claims.end() && app->is_object()) {
      const auto r = app->find("role");
      if (r != app->end() && r->is_string() && r->get_ref<const std::string&>() != "service_role") {
        out.app_role = r->get<std::string>();
      }
    }
  }
  return out;
}

std::string Digest(std::string_view token) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

bool IsSupportedAlgorithm(std::string_view algorithm) {
  const auto alg = ParseJwsAlgorithm(algorithm);
  return alg && IsHmac(*alg);
}

VerificationKey SecretKey(const JwtSettings& settings, KeyOrigin origin) {
  return VerificationKey::Hmac("", SecretAlgorithm(settings), settings.secret, origin);
}

std::vector<VerificationKey> SecretKeys(const JwtSettings& settings, KeyOrigin origin) {
  std::vector<VerificationKey> keys = {SecretKey(settings, origin)};
  for (const auto& s : settings.accepted_secrets) {
    keys.push_back(VerificationKey::Hmac("", SecretAlgorithm(settings), s, origin));
  }
  return keys;
}

KeyRegistry::KeyRegistry() : snapshot_(std::make_shared<const KeySet>()) {}

std::shared_ptr<const KeySet> KeyRegistry::Keys() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

bool KeyRegistry::RefreshForUnknownKid() {
  std::function<bool()> refresher;
  {
    std::lock_guard lock(mu_);
    refresher = refresher_;
  }
  return refresher && refresher();
}

void KeyRegistry::SetUnknownKidRefresher(std::function<bool()> refresher) {
  std::lock_guard lock(mu_);
  refresher_ = std::move(refresher);
}

void KeyRegistry::SetPart(const std::string& name, std::vector<VerificationKey> keys) {
  std::lock_guard lock(mu_);
  auto it =
      std::find_if(parts_.begin(), parts_.end(), [&](const auto& p) { return p.first == name; });
  if (it == parts_.end()) {
    parts_.emplace_back(name, std::move(keys));
  } else {
    it->second = std::move(keys);
  }
  auto next = std::make_shared<KeySet>();
  next->generation = snapshot_->generation + 1;
  for (const auto& [part, part_keys] : parts_) {
    next->keys.insert(next->keys.end(), part_keys.begin(), part_keys.end());
  }
  snapshot_ = std::move(next);
}

JwtVerifier::JwtVerifier(JwtSettings settings, const Clock& clock)
    : settings_(std::move(settings)),
      own_keys_(std::make_unique<KeyRegistry>()),
      keys_(*own_keys_),
      clock_(clock) {
  own_keys_->SetPart("secret", SecretKeys(settings_));
}

JwtVerifier::JwtVerifier(JwtSettings settings, KeyProvider& keys, const Clock& clock)
    : settings_(std::move(settings)), keys_(keys), clock_(clock) {}

Result<JwtVerifier::Checked> JwtVerifier::VerifySignature(std::string_view token,
                                                          const KeySet& keys,
                                                          bool* unknown_kid) const {
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
  const auto alg_it = header->find("alg");
  const auto alg = alg_it != header->end() && alg_it->is_string()
                       ? ParseJwsAlgorithm(alg_it->get_ref<const std::string&>())
                       : std::nullopt;
  const auto& allowed = settings_.allowed_algorithms;
  if (!alg ||
      (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *alg) == allowed.end())) {
    return Unauthenticated("invalid_token", "Token algorithm is not accepted");
  }
  if (header->contains("crit")) {
    return Unauthenticated("invalid_token", "Token has unsupported critical header parameters");
  }
  // jku, x5u, x5c and jwk are never followed or used: only configured keys verify.
  std::optional<std::string> kid;
  if (const auto k = header->find("kid"); k != header->end()) {
    if (!k->is_string()) return Unauthenticated("invalid_token", "Token kid must be a string");
    kid = k->get<std::string>();
  }
  const VerificationKey* key = nullptr;
  if (kid) {
    for (const auto& k : keys.keys) {
      if (!k.kid().empty() && k.kid() == *kid) {
        key = &k;
        break;
      }
    }
    if (key && key->algorithm() != *alg) {
      return Unauthenticated("invalid_token", "Token algorithm does not match its key");
    }
  }
  if (!key && (!kid || IsHmac(*alg))) {
    // No kid (or, as GoTrue does, an HS token whose kid names no key): the one key with this
    // algorithm; never a choice between several — except between our own kid-less HMAC
    // secrets (one in use, others accepted while rotating), each tried in turn.
    std::vector<const VerificationKey*> candidates;
    for (const auto& k : keys.keys) {
      if (k.algorithm() == *alg && (kid ? k.kid().empty() : true)) candidates.push_back(&k);
    }
    const bool secrets_only = std::all_of(candidates.begin(), candidates.end(), [](const auto* k) {
      return k->kid().empty() && IsHmac(k->algorithm());
    });
    if (candidates.size() > 1 && !secrets_only) {
      return Unauthenticated("invalid_token", "Token has no kid and several keys could verify it");
    }
    for (const auto* k : candidates) {
      if (k->Verify(token.substr(0, dot2), *signature)) {
        key = k;
        break;
      }
    }
    if (!key && !candidates.empty()) {
      return Unauthenticated("invalid_token", "Token signature is invalid");
    }
  } else if (key && !key->Verify(token.substr(0, dot2), *signature)) {
    return Unauthenticated("invalid_token", "Token signature is invalid");
  }
  if (!key) {
    if (unknown_kid) *unknown_kid = kid.has_value();
    return Unauthenticated("invalid_token", "No key for this token's kid and algorithm");
  }
  auto claims = ParseJsonStrict(*payload_raw, 8);
  if (!claims || !claims->is_object()) {
    return Unauthenticated("invalid_token", "Token claims are not a valid JSON object");
  }
  return Checked{std::make_shared<const nlohmann::json>(std::move(*claims)), key->origin()};
}

Result<VerifiedToken> JwtVerifier::Verify(std::string_view token, bool may_fetch) const {
  if (token.empty()) return Unauthenticated("missing_token", "Bearer token is empty");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("invalid_token", "Token is too long");
  auto keys = keys_.Keys();
  const std::string digest = Digest(token);
  CacheShard& shard = cache_[static_cast<unsigned char>(digest[0]) % kCacheShards];
  {
    std::lock_guard lock(shard.mu);
    const auto it = shard.entries.find(digest);
    if (it != shard.entries.end()) {
      if (it->second.generation == keys->generation) {
        if (it->second.exp + settings_.leeway_seconds <= clock_.NowSeconds()) {
          return Unauthenticated("token_expired", "Token has expired");
        }
        return it->second.verified;
      }
      shard.entries.erase(it);
    }
  }
  bool unknown_kid = false;
  auto checked = VerifySignature(token, *keys, &unknown_kid);
  if (!checked && unknown_kid && !may_fetch) return WouldBlock();
  if (!checked && unknown_kid && keys_.RefreshForUnknownKid()) {
    keys = keys_.Keys();
    checked = VerifySignature(token, *keys, nullptr);
  }
  if (!checked) return tl::unexpected(checked.error());
  auto verified = CheckClaims(*checked);
  if (!verified) return verified;
  const int64_t exp = NumericDate(*checked->claims, "exp").value().value();
  std::lock_guard lock(shard.mu);
  if (shard.entries.size() >= kCacheEntriesPerShard) {
    const int64_t now = clock_.NowSeconds();
    std::erase_if(shard.entries, [&](const auto& kv) {
      return kv.second.exp + settings_.leeway_seconds <= now ||
             kv.second.generation != keys->generation;
    });
    if (shard.entries.size() >= kCacheEntriesPerShard) shard.entries.clear();
  }
  shard.entries[digest] = CacheEntry{*verified, keys->generation, exp};
  return verified;
}

Result<std::string> JwtVerifier::VerifyKeyRole(std::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenBytes) {
    return Unauthenticated("invalid_token", "Not a usable API key");
  }
  auto checked = VerifySignature(token, *keys_.Keys(), nullptr);
  if (!checked) return tl::unexpected(checked.error());
  const auto& claims = *checked->claims;
  auto exp = NumericDate(claims, "exp");
  if (!exp || (*exp && **exp + settings_.leeway_seconds <= clock_.NowSeconds())) {
    return Unauthenticated("token_expired", "The API key has expired");
  }
  const auto role = claims.find("role");
  if (role == claims.end() || !role->is_string()) {
    return Unauthenticated("invalid_token", "The API key has no role");
  }
  return role->get<std::string>();
}

Result<VerifiedToken> JwtVerifier::CheckClaims(const Checked& checked) const {
  const nlohmann::json& claims = *checked.claims;
  const int64_t now = clock_.NowSeconds();
  const int64_t leeway = settings_.leeway_seconds;
  auto exp = NumericDate(claims, "exp");
  if (!exp) return tl::unexpected(exp.error());
  if (!*exp) return Unauthenticated("invalid_token", "Token has no exp claim");
  if (**exp + leeway <= now) return Unauthenticated("token_expired", "Token has expired");
  auto nbf = NumericDate(claims, "nbf");
  if (!nbf) return tl::unexpected(nbf.error());
  if (*nbf && **nbf - leeway > now)
    return Unauthenticated("invalid_token", "Token is not valid yet");
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

  const RoleNames names = RoleNamesOf(claims);
  const bool service = names.role && *names.role == "service_role";
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
  out.claims = checked.claims;
  out.origin = checked.origin;
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
    if (names.role && *names.role == "anon") {
      return Unauthenticated("invalid_token", "The anon role cannot use this API");
    }
    std::optional<domain::Role> role = domain::Role::kUser;
    if (names.app_role) {
      role = domain::ParseRole(*names.app_role);
      // Supabase projects keep roles of their own in app_metadata: those callers are users,
      // unless the operator asked for unknown roles to be refused.
      if (!role && !settings_.strict_roles) role = domain::Role::kUser;
    } else if (names.role) {
      role = domain::ParseRole(*names.role);
    }
    if (!role) return Fail(ErrorCode::kForbidden, "unknown_role", "Token role is not recognised");
    if (*role == domain::Role::kTest && settings_.refuse_test_role) {
      return Fail(ErrorCode::kForbidden, "test_role_disabled",
                  "Test accounts cannot use this deployment");
    }
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
  const JwsAlgorithm alg = SecretAlgorithm(settings);
  const EVP_MD* md = alg == JwsAlgorithm::kHS384   ? EVP_sha384()
                     : alg == JwsAlgorithm::kHS512 ? EVP_sha512()
                                                   : EVP_sha256();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, settings.secret.data(), static_cast<int>(settings.secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), out,
       &len);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(out), len));
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
  nlohmann::json claims = {
      {"role", role}, {"iat", now_seconds}, {"exp", now_seconds + ttl_seconds}};
  if (sub) claims["sub"] = *sub;
  if (settings.audience && role != "service_role") claims["aud"] = *settings.audience;
  if (settings.issuer) claims["iss"] = *settings.issuer;
  if (email) claims["email"] = *email;
  return claims;
}

}  // namespace assistantd::auth
