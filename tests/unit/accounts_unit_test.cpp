#include <gtest/gtest.h>

#include "audit/audit_log.hpp"
#include "auth/password_hasher.hpp"
#include "auth/session_tokens.hpp"
#include "common/clock.hpp"
#include "domain/account_rules.hpp"
#include "domain/audit_entry.hpp"
#include "http/message.hpp"
#include "limits/local_rate_limiter.hpp"
#include "limits/redis_rate_limiter.hpp"

namespace assistantd {
namespace {

using nlohmann::json;

TEST(AccountRulesTest, EmailsAreTrimmedLowerCasedAndChecked) {
  EXPECT_EQ(*domain::NormalizeEmail(json("  Ada.L+x@Example.COM ")), "ada.l+x@example.com");
  for (const char* bad : {"", "plain", "@example.com", "a@", "a@b", "a@@b.com", "a b@c.com",
                          ".a@b.com", "a@b..com", "a@-b.com\n"}) {
    EXPECT_FALSE(domain::NormalizeEmail(json(bad))) << bad;
  }
  EXPECT_FALSE(domain::NormalizeEmail(json(42)));
  EXPECT_FALSE(domain::NormalizeEmail(json(std::string(250, 'a') + "@b.com")));
}

TEST(AccountRulesTest, PasswordsFollowThePolicy) {
  const domain::PasswordPolicy policy{8, 72};
  EXPECT_TRUE(domain::CheckPassword(json("12345678"), policy));
  const auto weak = domain::CheckPassword(json("1234567"), policy);
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(weak.error().details[0]["reasons"], json::array({"length"}));
  // Minimum in characters (é is one), maximum in bytes.
  EXPECT_TRUE(domain::CheckPassword(json("éééééééé"), policy));
  EXPECT_EQ(domain::CheckPassword(json(std::string(73, 'a')), policy).error().code,
            ErrorCode::kInvalidInput);
  EXPECT_FALSE(domain::CheckPassword(json(std::string(5000, 'a')), {8, 4096}));
  EXPECT_FALSE(domain::CheckPassword(json(nullptr), policy));
}

TEST(AccountRulesTest, MetadataMergeRemovesNullKeys) {
  const json merged = domain::MergeMetadata({{"a", 1}, {"b", 2}}, {{"b", nullptr}, {"c", 3}});
  EXPECT_EQ(merged, (json{{"a", 1}, {"c", 3}}));
  using domain::Metadata;
  EXPECT_FALSE(domain::CheckMetadata(json::array(), Metadata::kUser));
  EXPECT_EQ(*domain::CheckMetadata(json(nullptr), Metadata::kUser), json::object());
  // The largest accepted, as compact JSON, and one byte more ({"k":"..."} is 8 bytes + text).
  const auto sized = [](size_t bytes) { return json{{"k", std::string(bytes - 8, 'x')}}; };
  EXPECT_TRUE(domain::CheckMetadata(sized(domain::kMaxUserMetadataBytes), Metadata::kUser));
  EXPECT_FALSE(domain::CheckMetadata(sized(domain::kMaxUserMetadataBytes + 1), Metadata::kUser));
  EXPECT_TRUE(domain::CheckMetadata(sized(domain::kMaxAppMetadataBytes), Metadata::kApp));
  EXPECT_FALSE(domain::CheckMetadata(sized(domain::kMaxAppMetadataBytes + 1), Metadata::kApp));
}

TEST(PasswordHasherTest, Argon2idHashesVerifyAndResistWrongPasswords) {
  const auth::PasswordHasher hasher;
  const auto hash = hasher.Hash("correct horse");
  ASSERT_TRUE(hash);
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
  EXPECT_TRUE(hasher.Verify(*hash, "correct horse"));
  EXPECT_FALSE(hasher.Verify(*hash, "correct horsE"));
  EXPECT_FALSE(hasher.Verify("not a hash", "correct horse"));
  EXPECT_FALSE(hasher.VerifyNothing("correct horse"));
  EXPECT_NE(*hasher.Hash("correct horse"), *hash);  // salted
  EXPECT_FALSE(hasher.NeedsRehash(*hash));
  const auth::PasswordHasher stronger({3, 19u * 1024 * 1024});
  EXPECT_TRUE(stronger.NeedsRehash(*hash));
}

TEST(SessionTokensTest, RefreshTokensAreRandomAndStoredAsDigests) {
  const auto a = auth::NewRefreshToken();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, auth::NewRefreshToken());
  EXPECT_EQ(auth::RefreshTokenDigest(a).size(), 64u);
  EXPECT_EQ(auth::RefreshTokenDigest(a), auth::RefreshTokenDigest(a));
}

TEST(SessionTokensTest, AccessTokenClaimsAreSupabases) {
  auth::JwtSettings s;
  s.secret = std::string(32, 'k');
  domain::User u = domain::MakeUser("4fe828c4-9b5d-4411-9dc8-a2e92cd69261", "a@example.com",
                                    domain::Role::kPremium, 0);
  u.user_metadata = {{"name", "Ada"}};
  const auto c = auth::AccessTokenClaims(s, u, "sid", 100, 200, 3600);
  EXPECT_EQ(c["sub"], u.id);
  EXPECT_EQ(c["role"], "authenticated");
  EXPECT_EQ(c["aud"], "authenticated");
  EXPECT_EQ(c["exp"], 3800);
  EXPECT_EQ(c["iat"], 200);
  EXPECT_EQ(c["session_id"], "sid");
  EXPECT_EQ(c["aal"], "aal1");
  EXPECT_EQ(c["amr"][0]["timestamp"], 100);
  EXPECT_EQ(c["app_metadata"]["role"], "premium");
  EXPECT_EQ(c["app_metadata"]["provider"], "email");
  EXPECT_EQ(c["user_metadata"]["name"], "Ada");
  EXPECT_EQ(c["is_anonymous"], false);
  // The verifier reads our role from app_metadata.
  ManualClock clock(200'000'000);
  const auth::JwtVerifier verifier(s, clock);
  const auto v = verifier.Verify(auth::SignJwt(s, c));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->principal.role, domain::Role::kPremium);
}

TEST(RateLimiterTest, FixedWindowCountsAndResets) {
  ManualClock clock(1'000'000);
  limits::LocalRateLimiter limiter(clock);
  const limits::RateLimit limit{3, 60};
  for (int i = 0; i < 3; ++i) {
    const auto d = limiter.Hit("k", limit);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 2 - i);
    EXPECT_EQ(d.reset_seconds, 60);
  }
  clock.Advance(30'000'000);
  const auto refused = limiter.Hit("k", limit);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.reset_seconds, 30);
  EXPECT_TRUE(limiter.Hit("other", limit).allowed);
  clock.Advance(30'000'000);
  EXPECT_TRUE(limiter.Hit("k", limit).allowed);
  EXPECT_TRUE(limiter.Hit("k", {0, 60}).allowed);  // unlimited
  const auto headers = limits::RateLimitHeaders("requests", limit, refused);
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0].second, "\"requests\";q=3;w=60");
  EXPECT_EQ(headers[1].second, "\"requests\";r=0;t=30");
  EXPECT_EQ(headers[2], (std::pair<std::string, std::string>{"Retry-After", "30"}));
}

TEST(RateLimiterTest, ParsesLimitsAndRedisUrls) {
  limits::RateLimit l;
  ASSERT_TRUE(limits::ParseRateLimit("600/1m", l));
  EXPECT_EQ(l.limit, 600);
  EXPECT_EQ(l.window_seconds, 60);
  ASSERT_TRUE(limits::ParseRateLimit("30/5m", l));
  EXPECT_EQ(l.window_seconds, 300);
  ASSERT_TRUE(limits::ParseRateLimit("10/s", l));
  EXPECT_EQ(l.window_seconds, 1);
  ASSERT_TRUE(limits::ParseRateLimit("0", l));
  EXPECT_EQ(l.limit, 0);
  for (const char* bad : {"", "600", "x/1m", "10/0m", "10/2d", "-1/1m", "10/1w"}) {
    EXPECT_FALSE(limits::ParseRateLimit(bad, l)) << bad;
  }
  const auto r = limits::ParseRedisUrl("redis://:pw@10.0.0.5:6380/2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host, "10.0.0.5");
  EXPECT_EQ(r->port, 6380);
  EXPECT_EQ(r->password, "pw");
  EXPECT_EQ(r->database, 2);
  EXPECT_EQ(limits::ParseRedisUrl("redis://127.0.0.1")->port, 6379);
  EXPECT_FALSE(limits::ParseRedisUrl("http://x"));
  EXPECT_FALSE(limits::ParseRedisUrl("redis://h:99999"));
}

TEST(AuditTest, SecretsAreMaskedAtAnyDepthButCountsAreNot) {
  const json in = {{"password", "p"},
                   {"model", {{"maxTokens", 100}, {"apiKey", "k"}}},
                   {"server", {{"secret", "s"}, {"url", "https://x"}}},
                   {"list", json::array({{{"refresh_token", "r"}}})},
                   {"vapi_api_key", nullptr}};
  const json out = audit::AuditLog::Masked(in);
  EXPECT_EQ(out["password"], "***");
  EXPECT_EQ(out["model"]["maxTokens"], 100);
  EXPECT_EQ(out["model"]["apiKey"], "***");
  EXPECT_EQ(out["server"]["secret"], "***");
  EXPECT_EQ(out["server"]["url"], "https://x");
  EXPECT_EQ(out["list"][0]["refresh_token"], "***");
  EXPECT_TRUE(out["vapi_api_key"].is_null());
}

TEST(AuditTest, TheHashCoversEveryField) {
  domain::AuditEntry e;
  e.seq = 1;
  e.actor_role = "user";
  e.action = "assistant.create";
  e.target_type = "assistant";
  e.request_id = "r";
  e.ip = "127.0.0.1";
  e.prev_hash = domain::kAuditGenesisHash;
  const std::string h = domain::AuditHash(e);
  EXPECT_EQ(h.size(), 64u);
  auto changed = [&](auto mutate) {
    domain::AuditEntry c = e;
    mutate(c);
    return domain::AuditHash(c) != h;
  };
  EXPECT_TRUE(changed([](auto& c) { c.seq = 2; }));
  EXPECT_TRUE(changed([](auto& c) { c.at_us = 1; }));
  EXPECT_TRUE(changed([](auto& c) { c.actor_id = "x"; }));
  EXPECT_TRUE(changed([](auto& c) { c.action = "assistant.delete"; }));
  EXPECT_TRUE(changed([](auto& c) { c.ip = "10.0.0.1"; }));
  EXPECT_TRUE(changed([](auto& c) { c.after = {{"a", 1}}; }));
  EXPECT_TRUE(changed([](auto& c) { c.prev_hash = std::string(64, '1'); }));
  // Field boundaries cannot be shifted: "ab"+"c" differs from "a"+"bc".
  EXPECT_TRUE(changed([](auto& c) {
    c.action = "assistant.creat";
    c.target_type = "eassistant";
  }));
}

}  // namespace
}  // namespace assistantd

namespace assistantd {
namespace {

TEST(ClientIpTest, ForwardedForIsBelievedOnlyFromTrustedProxies) {
  const std::vector<std::string> trusted = {"127.0.0.1", "10.0.0.2"};
  EXPECT_EQ(http::ClientIp("203.0.113.9", "198.51.100.1", trusted), "203.0.113.9");
  EXPECT_EQ(http::ClientIp("127.0.0.1", std::nullopt, trusted), "127.0.0.1");
  EXPECT_EQ(http::ClientIp("127.0.0.1", "198.51.100.1", trusted), "198.51.100.1");
  // The nearest untrusted hop from the right: a client-supplied left part is not believed.
  EXPECT_EQ(http::ClientIp("127.0.0.1", "1.2.3.4, 198.51.100.1, 10.0.0.2", trusted),
            "198.51.100.1");
  EXPECT_EQ(http::ClientIp("127.0.0.1", "2001:db8::1", trusted), "2001:db8::1");
  EXPECT_EQ(http::ClientIp("127.0.0.1", "10.0.0.2", trusted), "127.0.0.1");
  EXPECT_EQ(http::ClientIp("127.0.0.1", "not an ip", trusted), "127.0.0.1");
  EXPECT_EQ(http::ClientIp("127.0.0.1", "", trusted), "127.0.0.1");
  EXPECT_EQ(http::ClientIp("127.0.0.1", "198.51.100.1", {}), "127.0.0.1");
}

}  // namespace
}  // namespace assistantd
