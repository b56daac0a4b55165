#include "auth/jwk.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "common/encoding.hpp"

namespace assistantd::auth {
namespace {

using nlohmann::json;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;  // verification cost grows with the modulus; cap it
constexpr size_t kP256Bytes = 32;
constexpr size_t kEd25519Bytes = 32;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BnClearFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using SecretBn = std::unique_ptr<BIGNUM, BnClearFree>;

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

tl::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorCode::kInvalidInput, "invalid_jwk", std::move(message));
}

const EVP_MD* HmacDigest(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kHS256:
      return EVP_sha256();
    case JwsAlgorithm::kHS384:
      return EVP_sha384();
    case JwsAlgorithm::kHS512:
      return EVP_sha512();
    default:
      return nullptr;
  }
}

// The member `name` as base64url-decoded bytes, or nullopt if absent or not base64url.
std::optional<std::string> Bytes(const json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  return Base64UrlDecode(it->get_ref<const std::string&>());
}

std::string StringMember(const json& jwk, const char* name) {
  const auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Bn ToBn(const std::string& bytes) {
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<int>(bytes.size()), nullptr));
}

// Big-endian bytes of a BIGNUM: exactly `width` bytes when width > 0, else minimal.
std::string FromBn(const BIGNUM* bn, int width = 0) {
  const int n = width > 0 ? width : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(n), '\0');
  if (width > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), width);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

std::string BnParam(const EVP_PKEY* pkey, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return {};
  SecretBn owned(bn);
  return FromBn(bn, width);
}

// Builds a key from OpenSSL parameters and checks it (the point is on the curve, the RSA
// numbers are consistent, a private key matches its public half).
Result<std::shared_ptr<EVP_PKEY>> FromParams(const char* type, OSSL_PARAM_BLD* bld,
                                             bool with_private) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return Invalid(std::string("the ") + type + " key parameters are not a valid key");
  }
  auto pkey = Own(raw);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  const int ok =
      with_private ? EVP_PKEY_pairwise_check(check.get()) : EVP_PKEY_public_check(check.get());
  if (!check || ok != 1)
    return Invalid(std::string("the ") + type + " key fails OpenSSL's key check");
  return pkey;
}

Result<std::shared_ptr<EVP_PKEY>> EcKey(const json& jwk, bool with_private) {
  if (StringMember(jwk, "crv") != "P-256")
    return Invalid("EC keys must use the P-256 curve (ES256)");
  const auto x = Bytes(jwk, "x");
  const auto y = Bytes(jwk, "y");
  if (!x || !y || x->size() != kP256Bytes || y->size() != kP256Bytes) {
    return Invalid("EC key coordinates x and y must be 32 bytes of base64url");
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  const std::string point = std::string(1, '\x04') + *x + *y;
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  SecretBn d;
  if (with_private) {
    const auto raw = Bytes(jwk, "d");
    if (!raw || raw->size() != kP256Bytes) return Invalid("EC private key d must be 32 bytes");
    d.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()), 32, nullptr));
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get());
  }
  return FromParams("EC", bld.get(), with_private);
}

Result<std::shared_ptr<EVP_PKEY>> RsaKey(const json& jwk, bool with_private) {
  const auto n = Bytes(jwk, "n");
  const auto e = Bytes(jwk, "e");
  if (!n || !e || n->empty() || e->empty()) return Invalid("RSA keys need n and e");
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  Bn bn_n = ToBn(*n), bn_e = ToBn(*e);
  const int bits = BN_num_bits(bn_n.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return Invalid("RSA keys must have a 2048 to 8192-bit modulus (this one has " +
                   std::to_string(bits) + ")");
  }
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  std::vector<SecretBn> held;
  if (with_private) {
    const std::pair<const char*, const char*> members[] = {
        {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    for (const auto& [member, param] : members) {
      const auto raw = Bytes(jwk, member);
      if (!raw || raw->empty()) return Invalid(std::string("RSA private keys need ") + member);
      held.emplace_back(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()),
                                  static_cast<int>(raw->size()), nullptr));
      OSSL_PARAM_BLD_push_BN(bld.get(), param, held.back().get());
    }
  }
  return FromParams("RSA", bld.get(), with_private);
}

Result<std::shared_ptr<EVP_PKEY>> OkpKey(const json& jwk, bool with_private) {
  if (StringMember(jwk, "crv") != "Ed25519") return Invalid("OKP keys must use Ed25519 (EdDSA)");
  const auto x = Bytes(jwk, "x");
  if (!x || x->size() != kEd25519Bytes) return Invalid("Ed25519 key x must be 32 bytes");
  EVP_PKEY* raw = nullptr;
  if (with_private) {
    const auto d = Bytes(jwk, "d");
    if (!d || d->size() != kEd25519Bytes) return Invalid("Ed25519 private key d must be 32 bytes");
    raw = EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d->data()), d->size());
    if (!raw) return Invalid("the Ed25519 private key is not valid");
    auto pkey = Own(raw);
    unsigned char pub[kEd25519Bytes];
    size_t len = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(raw, pub, &len) != 1 || len != kEd25519Bytes ||
        CRYPTO_memcmp(pub, x->data(), kEd25519Bytes) != 0) {
      return Invalid("the Ed25519 private key does not match x");
    }
    return pkey;
  }
  raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                    reinterpret_cast<const unsigned char*>(x->data()), x->size());
  if (!raw) return Invalid("the Ed25519 public key is not valid");
  return Own(raw);
}

// The algorithm a JWK binds: its `alg` must agree with its key type and curve.
Result<JwsAlgorithm> BoundAlgorithm(const json& jwk) {
  const std::string kty = StringMember(jwk, "kty");
  const std::string alg_name = StringMember(jwk, "alg");
  std::optional<JwsAlgorithm> implied;
  if (kty == "EC") implied = JwsAlgorithm::kES256;
  if (kty == "OKP") implied = JwsAlgorithm::kEdDSA;
  if (kty != "EC" && kty != "OKP" && kty != "RSA" && kty != "oct") {
    return Invalid("unsupported key type \"" + kty + "\" (EC, RSA, OKP or oct)");
  }
  if (alg_name.empty()) {
    if (!implied) return Invalid(kty + " keys must name their alg");
    return *implied;
  }
  const auto alg = ParseJwsAlgorithm(alg_name);
  if (!alg) return Invalid("unsupported alg \"" + alg_name + "\"");
  const bool agrees = (kty == "EC" && *alg == JwsAlgorithm::kES256) ||
                      (kty == "OKP" && *alg == JwsAlgorithm::kEdDSA) ||
                      (kty == "RSA" && *alg == JwsAlgorithm::kRS256) ||
                      (kty == "oct" && IsHmac(*alg));
  if (!agrees) return Invalid("alg " + alg_name + " does not match key type " + kty);
  return *alg;
}

Result<std::shared_ptr<EVP_PKEY>> AsymmetricKey(const json& jwk, JwsAlgorithm alg,
                                                bool with_private) {
  switch (alg) {
    case JwsAlgorithm::kES256:
      return EcKey(jwk, with_private);
    case JwsAlgorithm::kRS256:
      return RsaKey(jwk, with_private);
    case JwsAlgorithm::kEdDSA:
      return OkpKey(jwk, with_private);
    default:
      return Invalid("not an asymmetric algorithm");
  }
}

Result<std::string> Kid(const json& jwk, bool required) {
  const auto it = jwk.find("kid");
  if (it == jwk.end()) {
    if (required) return Invalid("the key has no kid");
    return std::string();
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
      it->get_ref<const std::string&>().size() > 256) {
    return Invalid("kid must be a non-empty string of at most 256 characters");
  }
  return it->get<std::string>();
}

bool DigestVerify(EVP_PKEY* pkey, const EVP_MD* md, std::string_view data, std::string_view sig) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

std::string DigestSign(EVP_PKEY* pkey, const EVP_MD* md, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return {};
  }
  std::string out(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return {};
  }
  out.resize(len);
  return out;
}

const EVP_MD* AsymmetricDigest(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::kEdDSA ? nullptr : EVP_sha256();
}

// Raw R || S (64 bytes) → the DER ECDSA-Sig-Value OpenSSL verifies; nullopt when R or S is
// zero (a zero signature must never verify, whatever the library does with it).
std::optional<std::string> RawToDer(std::string_view raw) {
  if (raw.size() != 2 * kP256Bytes) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, kP256Bytes, nullptr);
  BIGNUM* s = BN_bin2bn(p + kP256Bytes, kP256Bytes, nullptr);
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  if (!r || !s || !sig || BN_is_zero(r) || BN_is_zero(s) || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string DerToRaw(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  return FromBn(r, kP256Bytes) + FromBn(s, kP256Bytes);
}

json PublicMembers(const EVP_PKEY* pkey, JwsAlgorithm alg) {
  json out;
  switch (alg) {
    case JwsAlgorithm::kES256:
      out = {{"kty", "EC"},
             {"crv", "P-256"},
             {"x", Base64UrlEncode(BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, kP256Bytes))},
             {"y", Base64UrlEncode(BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kP256Bytes))}};
      break;
    case JwsAlgorithm::kRS256:
      out = {{"kty", "RSA"},
             {"n", Base64UrlEncode(BnParam(pkey, OSSL_PKEY_PARAM_RSA_N))},
             {"e", Base64UrlEncode(BnParam(pkey, OSSL_PKEY_PARAM_RSA_E))}};
      break;
    default: {
      unsigned char pub[kEd25519Bytes];
      size_t len = sizeof pub;
      EVP_PKEY_get_raw_public_key(pkey, pub, &len);
      out = {{"kty", "OKP"},
             {"crv", "Ed25519"},
             {"x", Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(pub), len))}};
    }
  }
  return out;
}

}  // namespace

std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name) {
  if (name == "HS256") return JwsAlgorithm::kHS256;
  if (name == "HS384") return JwsAlgorithm::kHS384;
  if (name == "HS512") return JwsAlgorithm::kHS512;
  if (name == "RS256") return JwsAlgorithm::kRS256;
  if (name == "ES256") return JwsAlgorithm::kES256;
  if (name == "EdDSA") return JwsAlgorithm::kEdDSA;
  return std::nullopt;
}

std::string_view ToString(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::kHS256:
      return "HS256";
    case JwsAlgorithm::kHS384:
      return "HS384";
    case JwsAlgorithm::kHS512:
      return "HS512";
    case JwsAlgorithm::kRS256:
      return "RS256";
    case JwsAlgorithm::kES256:
      return "ES256";
    case JwsAlgorithm::kEdDSA:
      return "EdDSA";
  }
  return "";
}

bool IsHmac(JwsAlgorithm algorithm) { return HmacDigest(algorithm) != nullptr; }

VerificationKey VerificationKey::Hmac(std::string kid, JwsAlgorithm algorithm, std::string secret,
                                      KeyOrigin origin) {
  VerificationKey k;
  k.kid_ = std::move(kid);
  k.algorithm_ = algorithm;
  k.secret_ = std::move(secret);
  k.origin_ = origin;
  return k;
}

bool VerificationKey::Verify(std::string_view signing_input, std::string_view signature) const {
  if (IsHmac(algorithm_)) {
    if (secret_.empty()) return false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(HmacDigest(algorithm_), secret_.data(), static_cast<int>(secret_.size()),
              reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
              mac, &len)) {
      return false;
    }
    return signature.size() == len && CRYPTO_memcmp(signature.data(), mac, len) == 0;
  }
  if (!pkey_) return false;
  switch (algorithm_) {
    case JwsAlgorithm::kES256: {
      const auto der = RawToDer(signature);
      return der && DigestVerify(pkey_.get(), EVP_sha256(), signing_input, *der);
    }
    case JwsAlgorithm::kRS256:
      return signature.size() == static_cast<size_t>(EVP_PKEY_get_size(pkey_.get())) &&
             DigestVerify(pkey_.get(), EVP_sha256(), signing_input, signature);
    case JwsAlgorithm::kEdDSA:
      return signature.size() == 64 && DigestVerify(pkey_.get(), nullptr, signing_input, signature);
    default:
      return false;
  }
}

std::optional<json> VerificationKey::PublicJwk() const {
  if (IsHmac(algorithm_) || !pkey_) return std::nullopt;
  json jwk = PublicMembers(pkey_.get(), algorithm_);
  jwk["kid"] = kid_;
  jwk["alg"] = ToString(algorithm_);
  jwk["use"] = "sig";
  jwk["key_ops"] = json::array({"verify"});
  jwk["ext"] = true;
  return jwk;
}

Result<VerificationKey> ParsePublicJwk(const json& jwk, KeyOrigin origin) {
  if (!jwk.is_object()) return Invalid("a JWK must be a JSON object");
  auto alg = BoundAlgorithm(jwk);
  if (!alg) return tl::unexpected(alg.error());
  if (const auto use = jwk.find("use"); use != jwk.end() && *use != "sig") {
    return Invalid("the key's use is not \"sig\"");
  }
  if (const auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    bool verify = false;
    if (ops->is_array()) {
      for (const auto& op : *ops) verify = verify || op == "verify";
    }
    if (!verify) return Invalid("the key's key_ops do not include \"verify\"");
  }
  auto kid = Kid(jwk, false);
  if (!kid) return tl::unexpected(kid.error());
  if (IsHmac(*alg)) {
    const auto k = Bytes(jwk, "k");
    if (!k || k->size() < 32) return Invalid("oct keys need k of at least 32 bytes");
    return VerificationKey::Hmac(std::move(*kid), *alg, *k, origin);
  }
  auto pkey = AsymmetricKey(jwk, *alg, false);
  if (!pkey) return tl::unexpected(pkey.error());
  VerificationKey key;
  key.kid_ = std::move(*kid);
  key.algorithm_ = *alg;
  key.origin_ = origin;
  key.pkey_ = std::move(*pkey);
  return key;
}

Result<std::vector<VerificationKey>> ParseJwks(const json& jwks, KeyOrigin origin,
                                               std::vector<std::string>* skipped) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return Invalid("a JWK Set must be an object with a \"keys\" array");
  }
  std::vector<VerificationKey> keys;
  for (const auto& jwk : jwks["keys"]) {
    auto key = ParsePublicJwk(jwk, origin);
    if (key) {
      keys.push_back(std::move(*key));
    } else if (skipped) {
      skipped->push_back(StringMember(jwk, "kid") + ": " + key.error().message);
    }
  }
  if (keys.empty()) return Invalid("the JWK Set has no usable key");
  return keys;
}

Result<SigningKey> ParsePrivateJwk(const json& jwk) {
  if (!jwk.is_object()) return Invalid("a JWK must be a JSON object");
  auto alg = BoundAlgorithm(jwk);
  if (!alg) return tl::unexpected(alg.error());
  if (IsHmac(*alg)) return Invalid("HMAC secrets sign through --jwt-secret, not as signing keys");
  auto kid = Kid(jwk, true);
  if (!kid) return tl::unexpected(kid.error());
  auto pkey = AsymmetricKey(jwk, *alg, true);
  if (!pkey) return tl::unexpected(pkey.error());
  SigningKey key;
  key.kid_ = std::move(*kid);
  key.algorithm_ = *alg;
  key.pkey_ = std::move(*pkey);
  return key;
}

Result<SigningKey> GenerateSigningKey(JwsAlgorithm algorithm, std::string kid) {
  EVP_PKEY* raw = nullptr;
  switch (algorithm) {
    case JwsAlgorithm::kES256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case JwsAlgorithm::kRS256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(kMinRsaBits));
      break;
    case JwsAlgorithm::kEdDSA:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    default:
      return Invalid("signing keys are ES256, RS256 or EdDSA");
  }
  if (!raw) return Fail(ErrorCode::kInternal, "keygen_failed", "OpenSSL could not generate a key");
  SigningKey key;
  key.kid_ = std::move(kid);
  key.algorithm_ = algorithm;
  key.pkey_ = Own(raw);
  return key;
}

std::string SigningKey::Sign(std::string_view signing_input) const {
  std::string sig = DigestSign(pkey_.get(), AsymmetricDigest(algorithm_), signing_input);
  if (algorithm_ == JwsAlgorithm::kES256) sig = DerToRaw(sig);
  return Base64UrlEncode(sig);
}

std::string SigningKey::SignJwt(const json& claims) const {
  const json header = {{"alg", ToString(algorithm_)}, {"kid", kid_}, {"typ", "JWT"}};
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  return input + "." + Sign(input);
}

VerificationKey SigningKey::Public(KeyOrigin origin) const {
  VerificationKey key;
  key.kid_ = kid_;
  key.algorithm_ = algorithm_;
  key.origin_ = origin;
  key.pkey_ = pkey_;  // verifying with the key pair uses only its public half
  return key;
}

json SigningKey::PrivateJwk(const std::vector<std::string>& key_ops) const {
  json jwk = PublicMembers(pkey_.get(), algorithm_);
  switch (algorithm_) {
    case JwsAlgorithm::kES256:
      jwk["d"] = Base64UrlEncode(BnParam(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, kP256Bytes));
      break;
    case JwsAlgorithm::kRS256: {
      const std::pair<const char*, const char*> members[] = {
          {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
          {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
          {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
      for (const auto& [member, param] : members) {
        jwk[member] = Base64UrlEncode(BnParam(pkey_.get(), param));
      }
      break;
    }
    default: {
      unsigned char priv[kEd25519Bytes];
      size_t len = sizeof priv;
      EVP_PKEY_get_raw_private_key(pkey_.get(), priv, &len);
      jwk["d"] = Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(priv), len));
      OPENSSL_cleanse(priv, sizeof priv);
    }
  }
  jwk["kid"] = kid_;
  jwk["alg"] = ToString(algorithm_);
  jwk["use"] = "sig";
  jwk["key_ops"] = key_ops;
  jwk["ext"] = true;
  return jwk;
}

}  // namespace assistantd::auth
