#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "common/encoding.hpp"

namespace assistantd::auth {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1767225600;
const std::string kSub = "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f";

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() : clock_(kNow * 1'000'000) { settings_.secret = std::string(32, 'k'); }

  Result<VerifiedToken> Verify(const json& claims) {
    return JwtVerifier(settings_, clock_).Verify(SignJwt(settings_, claims));
  }
  json Claims() const {
    return {{"sub", kSub},
            {"aud", "authenticated"},
            {"role", "authenticated"},
            {"iat", kNow},
            {"exp", kNow + 60}};
  }
  std::string Reason(const Result<VerifiedToken>& r) { return r ? "" : r.error().reason; }

  JwtSettings settings_;
  ManualClock clock_;
};

TEST_F(JwtTest, AcceptsAValidToken) {
  const auto r = Verify(Claims());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->principal.role, domain::Role::kUser);
  EXPECT_EQ(r->principal.user_id, kSub);
}

// Rotating the shared secret: tokens of the secret in use and of each accepted one verify; a
// token of any other secret does not; only the secret in use signs.
TEST_F(JwtTest, AcceptedSecretsVerifyButNeverSign) {
  JwtSettings old_secret = settings_;
  old_secret.secret = std::string(32, 'o');
  JwtSettings stranger = settings_;
  stranger.secret = std::string(32, 's');
  settings_.accepted_secrets = {old_secret.secret, std::string(40, 'x')};
  const JwtVerifier verifier(settings_, clock_);
  EXPECT_TRUE(verifier.Verify(SignJwt(settings_, Claims())));
  EXPECT_TRUE(verifier.Verify(SignJwt(old_secret, Claims())));
  const auto foreign = verifier.Verify(SignJwt(stranger, Claims()));
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().message, "Token signature is invalid");
  // Signed with the secret in use: an old-secret-only verifier refuses it.
  EXPECT_FALSE(JwtVerifier(old_secret, clock_).Verify(SignJwt(settings_, Claims())));
}

TEST_F(JwtTest, ExpiryHonoursLeeway) {
  clock_.Advance(60LL * 1'000'000 + 29 * 1'000'000);
  EXPECT_TRUE(Verify(Claims()));
  clock_.Advance(2 * 1'000'000);
  EXPECT_EQ(Reason(Verify(Claims())), "token_expired");
}

// A token served from the verifier's cache still expires, with the same leeway.
TEST_F(JwtTest, ACachedTokenExpiresLikeAFreshOne) {
  const JwtVerifier verifier(settings_, clock_);
  const std::string token = SignJwt(settings_, Claims());
  ASSERT_TRUE(verifier.Verify(token));
  const auto again = verifier.Verify(token);  // from the cache
  ASSERT_TRUE(again);
  EXPECT_EQ(again->principal.user_id, kSub);
  clock_.Advance(60LL * 1'000'000 + 29 * 1'000'000);
  EXPECT_TRUE(verifier.Verify(token));
  clock_.Advance(2 * 1'000'000);
  EXPECT_EQ(Reason(verifier.Verify(token)), "token_expired");
}

TEST_F(JwtTest, FractionalNumericDatesAreAccepted) {
  auto c = Claims();
  c["exp"] = kNow + 60.5;
  EXPECT_TRUE(Verify(c));
}

// A date past 9999 (or past int64, or negative) is not "never expires" but a bad token.
TEST_F(JwtTest, NumericDatesOutOfRangeAreRefused) {
  for (const char* claim : {"exp", "nbf", "iat"}) {
    for (const json& value : {json(1e20), json(-1), json(std::numeric_limits<uint64_t>::max()),
                              json(253402300800), json("1700000000"), json(nullptr)}) {
      auto c = Claims();
      c[claim] = value;
      EXPECT_EQ(Reason(Verify(c)), "invalid_token") << claim << "=" << value.dump();
    }
  }
  auto c = Claims();
  c["exp"] = 253402300799;  // 9999-12-31T23:59:59Z
  EXPECT_TRUE(Verify(c));
}

TEST_F(JwtTest, IssuerIsCheckedWhenConfigured) {
  settings_.issuer = "https://project.supabase.co/auth/v1";
  EXPECT_EQ(Reason(Verify(Claims())), "invalid_token");
  auto c = Claims();
  c["iss"] = *settings_.issuer;
  EXPECT_TRUE(Verify(c));
}

TEST_F(JwtTest, AudienceCheckCanBeDisabled) {
  settings_.audience.reset();
  auto c = Claims();
  c["aud"] = "anything";
  EXPECT_TRUE(Verify(c));
}

TEST_F(JwtTest, RoleComesFromRoleThenAppMetadata) {
  auto c = Claims();
  c["role"] = "premium";
  EXPECT_EQ(Verify(c)->principal.role, domain::Role::kPremium);
  c["role"] = "authenticated";
  c["app_metadata"] = {{"role", "test"}};
  EXPECT_EQ(Verify(c)->principal.role, domain::Role::kTest);
  c.erase("role");
  EXPECT_EQ(Verify(c)->principal.role, domain::Role::kTest);
  // app_metadata cannot grant service_role.
  c["app_metadata"] = {{"role", "service_role"}};
  c["role"] = "authenticated";
  EXPECT_EQ(Verify(c)->principal.role, domain::Role::kUser);
}

TEST_F(JwtTest, ServiceRoleNeedsNeitherSubNorAud) {
  const json c = {{"role", "service_role"}, {"iat", kNow}, {"exp", kNow + 60}};
  const auto r = Verify(c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->principal.role, domain::Role::kServiceRole);
  EXPECT_FALSE(r->principal.user_id);
}

TEST_F(JwtTest, HeaderMustNameTheConfiguredAlgorithm) {
  const std::string payload = Base64UrlEncode(Claims().dump());
  for (const char* header :
       {R"({"alg":"HS512"})", R"({"alg":"none"})", R"({})", R"({"alg":"HS256","crit":["exp"]})",
        R"({"alg":"HS256","alg":"HS256"})"}) {
    const std::string input = Base64UrlEncode(header) + "." + payload;
    EXPECT_EQ(
        Reason(JwtVerifier(settings_, clock_).Verify(input + "." + SignatureFor(settings_, input))),
        "invalid_token")
        << header;
  }
}

TEST_F(JwtTest, MakeClaimsMatchesTheConfiguration) {
  settings_.issuer = "iss";
  const auto c = MakeClaims(settings_, kSub, "admin", std::string("a@b.c"), kNow, 3600);
  EXPECT_EQ(c["aud"], "authenticated");
  EXPECT_EQ(c["iss"], "iss");
  EXPECT_EQ(c["exp"], kNow + 3600);
  EXPECT_EQ(c["email"], "a@b.c");
  EXPECT_FALSE(
      MakeClaims(settings_, std::nullopt, "service_role", std::nullopt, kNow, 60).contains("aud"));
}

}  // namespace
}  // namespace assistantd::auth
