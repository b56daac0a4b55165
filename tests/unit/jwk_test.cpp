// Asymmetric JWTs: JWK parsing rules, signatures, key choice by kid and alg, the key ring's
// rotation steps and API keys.
#include "auth/jwk.hpp"

#include <gtest/gtest.h>

#include "api/gotrue_admin_api.hpp"
#include "auth/jwks_source.hpp"
#include "auth/jwt.hpp"
#include "auth/key_ring.hpp"
#include "common/encoding.hpp"

namespace assistantd::auth {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1767225600;
const std::string kSub = "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f";

json Claims() {
  return {{"sub", kSub},
          {"aud", "authenticated"},
          {"role", "authenticated"},
          {"iat", kNow},
          {"exp", kNow + 60}};
}

SigningKey Generate(JwsAlgorithm alg, const std::string& kid) {
  auto key = GenerateSigningKey(alg, kid);
  EXPECT_TRUE(key);
  return std::move(*key);
}

// A token with a chosen header and signature bytes over Claims().
std::string Forge(const json& header, const std::function<std::string(const std::string&)>& sign) {
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(Claims().dump());
  return input + "." + Base64UrlEncode(sign(input));
}

class KeysTest : public ::testing::Test {
 protected:
  KeysTest() : clock_(kNow * 1'000'000) {}
  Result<VerifiedToken> Verify(const std::string& token, JwtSettings settings = {}) {
    return JwtVerifier(std::move(settings), registry_, clock_).Verify(token);
  }
  std::string Reason(const Result<VerifiedToken>& r) { return r ? "" : r.error().reason; }

  KeyRegistry registry_;
  ManualClock clock_;
};

TEST_F(KeysTest, EachAlgorithmSignsAndVerifiesThroughItsPublicJwk) {
  for (const auto alg : {JwsAlgorithm::kES256, JwsAlgorithm::kRS256, JwsAlgorithm::kEdDSA}) {
    const SigningKey key = Generate(alg, "k-" + std::string(ToString(alg)));
    const auto jwk = key.Public().PublicJwk();
    ASSERT_TRUE(jwk);
    EXPECT_EQ((*jwk)["alg"], ToString(alg));
    EXPECT_EQ((*jwk)["use"], "sig");
    EXPECT_EQ((*jwk)["key_ops"], json::array({"verify"}));
    EXPECT_FALSE(jwk->contains("d")) << "a public JWK must not carry the private key";
    auto parsed = ParsePublicJwk(*jwk, KeyOrigin::kExternal);
    ASSERT_TRUE(parsed) << parsed.error().message;
    registry_.SetPart("test", {*parsed});
    const auto r = Verify(key.SignJwt(Claims()));
    ASSERT_TRUE(r) << ToString(alg) << ": " << r.error().message;
    EXPECT_EQ(r->principal.user_id, kSub);
    EXPECT_EQ(r->origin, KeyOrigin::kExternal);
    // The private JWK round-trips to the same key.
    auto again = ParsePrivateJwk(key.PrivateJwk({"sign", "verify"}));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE(Verify(again->SignJwt(Claims())));
  }
}

TEST_F(KeysTest, Es256SignaturesAreRawRAndSOnly) {
  const SigningKey key = Generate(JwsAlgorithm::kES256, "es");
  registry_.SetPart("test", {key.Public()});
  const json header = {{"alg", "ES256"}, {"kid", "es"}};
  const std::string good = key.SignJwt(Claims());
  ASSERT_TRUE(Verify(good));
  const std::string raw = *Base64UrlDecode(good.substr(good.rfind('.') + 1));
  ASSERT_EQ(raw.size(), 64u);
  // All zeros, R or S zero, truncated, padded: refused.
  EXPECT_EQ(Reason(Verify(Forge(header, [](auto&) { return std::string(64, '\0'); }))),
            "invalid_token");
  EXPECT_FALSE(
      Verify(Forge(header, [&](auto&) { return std::string(32, '\0') + raw.substr(32); })));
  EXPECT_FALSE(Verify(Forge(header, [&](auto&) { return raw.substr(0, 63); })));
  EXPECT_FALSE(Verify(Forge(header, [&](auto&) { return raw + std::string(1, '\0'); })));
  // A DER-encoded signature of the right input (what OpenSSL produces natively) is refused.
  EXPECT_FALSE(Verify(Forge(header, [&](auto&) {
    std::string der = "\x30\x44\x02\x20" + raw.substr(0, 32) + "\x02\x20" + raw.substr(32);
    return der;
  })));
}

TEST_F(KeysTest, KeyChoiceFollowsKidAndAlgorithm) {
  const SigningKey es1 = Generate(JwsAlgorithm::kES256, "es-1");
  const SigningKey es2 = Generate(JwsAlgorithm::kES256, "es-2");
  const SigningKey rs = Generate(JwsAlgorithm::kRS256, "rs-1");
  registry_.SetPart("test", {es1.Public(), rs.Public()});
  EXPECT_TRUE(Verify(es1.SignJwt(Claims())));
  EXPECT_TRUE(Verify(rs.SignJwt(Claims())));
  // Unknown kid.
  EXPECT_FALSE(Verify(es2.SignJwt(Claims())));
  // No kid: exactly one ES256 key could verify it.
  const auto no_kid = [&](const SigningKey& k) {
    return Forge({{"alg", "ES256"}},
                 [&](const std::string& in) { return *Base64UrlDecode(k.Sign(in)); });
  };
  EXPECT_TRUE(Verify(no_kid(es1)));
  registry_.SetPart("test", {es1.Public(), es2.Public(), rs.Public()});
  EXPECT_EQ(Verify(no_kid(es1)).error().message,
            "Token has no kid and several keys could verify it");
  // A kid whose key binds another algorithm.
  EXPECT_FALSE(Verify(Forge({{"alg", "RS256"}, {"kid", "es-1"}},
                            [&](const std::string& in) { return *Base64UrlDecode(rs.Sign(in)); })));
  // The accepted list is the operator's, never the token's.
  JwtSettings only_rs;
  only_rs.allowed_algorithms = {JwsAlgorithm::kRS256};
  EXPECT_FALSE(Verify(es1.SignJwt(Claims()), only_rs));
  EXPECT_TRUE(Verify(rs.SignJwt(Claims()), only_rs));
}

TEST_F(KeysTest, AnHs256TokenIsNeverCheckedWithAPublicKeysBytes) {
  const SigningKey es = Generate(JwsAlgorithm::kES256, "es-1");
  registry_.SetPart("test", {es.Public()});
  const std::string public_json = es.Public().PublicJwk()->dump();
  JwtSettings hmac;
  hmac.secret = public_json;
  const std::string input = Base64UrlEncode(json{{"alg", "HS256"}, {"kid", "es-1"}}.dump()) + "." +
                            Base64UrlEncode(Claims().dump());
  EXPECT_FALSE(Verify(input + "." + SignatureFor(hmac, input)));
  const std::string no_kid =
      Base64UrlEncode(json{{"alg", "HS256"}}.dump()) + "." + Base64UrlEncode(Claims().dump());
  EXPECT_FALSE(Verify(no_kid + "." + SignatureFor(hmac, no_kid)));
  // "none" and embedded keys are no way in either.
  EXPECT_FALSE(
      Verify(Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode(Claims().dump()) + "."));
  const SigningKey attacker = Generate(JwsAlgorithm::kES256, "es-1");
  json with_jwk = {{"alg", "ES256"},
                   {"kid", "es-1"},
                   {"jwk", *attacker.Public().PublicJwk()},
                   {"jku", "http://127.0.0.1:1/jwks.json"}};
  EXPECT_FALSE(Verify(
      Forge(with_jwk, [&](const std::string& in) { return *Base64UrlDecode(attacker.Sign(in)); })));
}

TEST_F(KeysTest, ChangedKeysAreNotServedFromTheCache) {
  const SigningKey es = Generate(JwsAlgorithm::kES256, "es-1");
  registry_.SetPart("test", {es.Public()});
  JwtVerifier verifier(JwtSettings{}, registry_, clock_);
  const std::string token = es.SignJwt(Claims());
  EXPECT_TRUE(verifier.Verify(token));
  EXPECT_TRUE(verifier.Verify(token));  // from the cache
  registry_.SetPart("test", {});        // revoked
  EXPECT_FALSE(verifier.Verify(token));
  registry_.SetPart("test", {es.Public()});
  EXPECT_TRUE(verifier.Verify(token));
  clock_.Advance(120LL * 1'000'000);  // past exp + leeway: the cached entry expires too
  EXPECT_EQ(verifier.Verify(token).error().reason, "token_expired");
}

TEST_F(KeysTest, AnUnknownKidAsksTheSourceOnce) {
  const SigningKey es1 = Generate(JwsAlgorithm::kES256, "es-1");
  const SigningKey es2 = Generate(JwsAlgorithm::kES256, "es-2");
  registry_.SetPart("jwks-url", {es1.Public()});
  int refreshes = 0;
  registry_.SetUnknownKidRefresher([&] {
    ++refreshes;
    registry_.SetPart("jwks-url", {es1.Public(), es2.Public()});
    return true;
  });
  EXPECT_TRUE(Verify(es1.SignJwt(Claims())));
  EXPECT_EQ(refreshes, 0);
  EXPECT_TRUE(Verify(es2.SignJwt(Claims())));
  EXPECT_EQ(refreshes, 1);
}

TEST(JwkTest, KeysMustBindOneConsistentAlgorithm) {
  const SigningKey es = *GenerateSigningKey(JwsAlgorithm::kES256, "es");
  json jwk = *es.Public().PublicJwk();
  EXPECT_TRUE(ParsePublicJwk(jwk, KeyOrigin::kExternal));
  for (const auto& [member, value] :
       std::vector<std::pair<std::string, json>>{{"alg", "RS256"},
                                                 {"alg", "HS256"},
                                                 {"alg", "ES384"},
                                                 {"crv", "P-384"},
                                                 {"crv", "secp256k1"},
                                                 {"use", "enc"},
                                                 {"key_ops", json::array({"sign"})},
                                                 {"kty", "RSA"},
                                                 {"x", "AAAA"}}) {
    json bad = jwk;
    bad[member] = value;
    EXPECT_FALSE(ParsePublicJwk(bad, KeyOrigin::kExternal)) << member << "=" << value;
  }
  // A point that is not on the curve.
  json off_curve = jwk;
  off_curve["y"] = Base64UrlEncode(std::string(32, '\x01'));
  EXPECT_FALSE(ParsePublicJwk(off_curve, KeyOrigin::kExternal));
  // EC keys imply ES256; RSA keys must name their alg.
  json no_alg = jwk;
  no_alg.erase("alg");
  EXPECT_TRUE(ParsePublicJwk(no_alg, KeyOrigin::kExternal));
  json rsa = *GenerateSigningKey(JwsAlgorithm::kRS256, "rs")->Public().PublicJwk();
  rsa.erase("alg");
  EXPECT_FALSE(ParsePublicJwk(rsa, KeyOrigin::kExternal));
}

TEST(JwkTest, RsaKeysUnder2048BitsAreRefused) {
  json rsa = *GenerateSigningKey(JwsAlgorithm::kRS256, "rs")->Public().PublicJwk();
  const std::string n = *Base64UrlDecode(rsa["n"].get<std::string>());
  rsa["n"] = Base64UrlEncode(n.substr(0, 128));  // 1024 bits
  const auto r = ParsePublicJwk(rsa, KeyOrigin::kExternal);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("2048"), std::string::npos);
}

TEST(JwkTest, AJwkSetKeepsUsableKeysAndSaysWhyOthersWereSkipped) {
  json set = {
      {"keys", json::array({*GenerateSigningKey(JwsAlgorithm::kES256, "a")->Public().PublicJwk(),
                            {{"kty", "EC"}, {"crv", "P-521"}, {"kid", "b"}},
                            {{"kty", "weird"}, {"kid", "c"}}})}};
  std::vector<std::string> skipped;
  const auto keys = ParseJwks(set, KeyOrigin::kExternal, &skipped);
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->size(), 1u);
  EXPECT_EQ(skipped.size(), 2u);
  EXPECT_FALSE(ParseJwks(json{{"keys", json::array()}}, KeyOrigin::kExternal, nullptr));
  EXPECT_FALSE(ParseJwks(json::array(), KeyOrigin::kExternal, nullptr));
}

TEST(KeyRingTest, RotationFollowsSupabasesKeyStates) {
  KeyRing ring;
  EXPECT_EQ(ring.LegacySecretStatus(), "in_use");
  const auto first = CreateKey(ring, JwsAlgorithm::kES256, 100);
  ASSERT_TRUE(first);
  EXPECT_EQ(ring.keys[0].status, KeyStatus::kStandby);
  EXPECT_FALSE(ring.InUse());
  ASSERT_TRUE(ActivateKey(ring, *first, 101));
  EXPECT_EQ(ring.InUse()->key.kid(), *first);
  EXPECT_EQ(ring.LegacySecretStatus(), "previously_used");
  const auto second = CreateKey(ring, JwsAlgorithm::kRS256, 102);
  ASSERT_TRUE(ActivateKey(ring, *second, 103));
  EXPECT_EQ(ring.keys[0].status, KeyStatus::kPreviouslyUsed);
  EXPECT_EQ(ring.InUse()->key.kid(), *second);
  // The key in use cannot be revoked; a previously used one can, and then stays revoked.
  EXPECT_FALSE(RevokeKey(ring, *second, 104));
  ASSERT_TRUE(RevokeKey(ring, *first, 104));
  EXPECT_EQ(ring.keys[0].status, KeyStatus::kRevoked);
  EXPECT_FALSE(ActivateKey(ring, *first, 105));
  EXPECT_FALSE(ActivateKey(ring, "no-such-kid", 105));
  // The legacy secret: revocable only beside another key in use.
  ASSERT_TRUE(RevokeKey(ring, "legacy", 106));
  EXPECT_EQ(ring.LegacySecretStatus(), "revoked");
  EXPECT_FALSE(ActivateKey(ring, "legacy", 107));
  // The file form round-trips.
  const auto again = ParseKeyRing(KeyRingJson(ring));
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again->keys.size(), 2u);
  EXPECT_EQ(again->keys[1].status, KeyStatus::kInUse);
  EXPECT_TRUE(again->legacy_secret_revoked);
  // GOTRUE_JWT_KEYS: the key in use signs, previously used ones verify, revoked ones are gone.
  const json gotrue = GoTrueKeys(*again);
  ASSERT_EQ(gotrue.size(), 1u);
  EXPECT_EQ(gotrue[0]["key_ops"], json::array({"sign", "verify"}));
  const auto from_gotrue = KeyRingFromGoTrueKeys(gotrue);
  ASSERT_TRUE(from_gotrue);
  EXPECT_EQ(from_gotrue->InUse()->key.kid(), *second);
}

TEST(KeyRingTest, ApiKeysHaveSupabasesShapeAndAreStoredAsDigests) {
  const auto [key, record] = NewApiKey(ApiKeyType::kSecret, "ci", 100);
  EXPECT_TRUE(key.starts_with("sb_secret_"));
  EXPECT_EQ(key.size(), std::string("sb_secret_").size() + 22 + 1 + 8);
  EXPECT_EQ(key[key.size() - 9], '_');
  EXPECT_EQ(record.digest, ApiKeyDigest(key));
  EXPECT_EQ(KeyRingJson(KeyRing{{}, false, {record}}).dump().find(key), std::string::npos);
  EXPECT_EQ(ApiKeyTypeOf(key), ApiKeyType::kSecret);
  EXPECT_EQ(ApiKeyTypeOf("sb_publishable_x"), ApiKeyType::kPublishable);
  EXPECT_FALSE(ApiKeyTypeOf("sb_other_x"));
  EXPECT_NE(NewApiKey(ApiKeyType::kSecret, "", 0).first, key);
}

TEST(JwksSourceRulesTest, CacheControlMaxAgeIsReadStrictly) {
  EXPECT_EQ(CacheControlMaxAge("public, max-age=600"), 600);
  EXPECT_EQ(CacheControlMaxAge("Max-Age=30"), 30);
  EXPECT_EQ(CacheControlMaxAge("s-maxage=100, max-age=5"), 5);
  EXPECT_EQ(CacheControlMaxAge("no-store"), 0);
  EXPECT_EQ(CacheControlMaxAge("private, no-cache"), 0);
  EXPECT_FALSE(CacheControlMaxAge("public"));
  EXPECT_FALSE(CacheControlMaxAge("s-maxage=100"));
  EXPECT_FALSE(CacheControlMaxAge("max-age=soon"));
  EXPECT_FALSE(CacheControlMaxAge("x-max-age=10"));
}

TEST(GoDurationTest, ParsesGoTruesBanDurations) {
  EXPECT_EQ(api::ParseGoDuration("24h"), 24LL * 3600 * 1'000'000);
  EXPECT_EQ(api::ParseGoDuration("876000h"), 876000LL * 3600 * 1'000'000);
  EXPECT_EQ(api::ParseGoDuration("1h30m"), 90LL * 60 * 1'000'000);
  EXPECT_EQ(api::ParseGoDuration("1.5s"), 1'500'000);
  EXPECT_EQ(api::ParseGoDuration("300ms"), 300'000);
  EXPECT_EQ(api::ParseGoDuration("0"), 0);
  for (const char* bad : {"", "1d", "h", "-1h", "10", "1y", "1h junk", "99999999999999h"}) {
    EXPECT_FALSE(api::ParseGoDuration(bad)) << bad;
  }
}

}  // namespace
}  // namespace assistantd::auth
