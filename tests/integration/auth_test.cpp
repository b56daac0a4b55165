// C3 over HTTP: bearer tokens, pinned algorithm, time claims, audience, sub, sizes, and
// tokens minted by other libraries.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "auth/jwt.hpp"
#include "common/encoding.hpp"
#include "integration/api_fixture.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

class AuthTest : public ApiTest {
 protected:
  static std::string Secret() {
    std::ifstream in(server().data_dir() + "/jwt-secret");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static auth::JwtSettings Settings(const std::string& alg = "HS256") {
    auth::JwtSettings s;
    s.secret = Secret();
    s.algorithm = alg;
    return s;
  }

  static json Claims(const std::string& sub, int64_t exp_offset = 3600) {
    const int64_t now = SystemClock().NowSeconds();
    return {{"sub", sub},
            {"role", "authenticated"},
            {"aud", "authenticated"},
            {"iat", now},
            {"exp", now + exp_offset}};
  }

  HttpResult ListWith(const std::string& token) {
    return client().Call("GET", "/v1/assistants", token);
  }

  void ExpectUnauthorized(const HttpResult& r, const std::string& code) {
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], code) << r.body;
    EXPECT_NE(r.Header("www-authenticate").find("Bearer"), std::string::npos);
    if (code != "missing_token") {
      EXPECT_NE(r.Header("www-authenticate").find("error=\"invalid_token\""), std::string::npos);
    }
  }
};

TEST_F(AuthTest, MissingTokenIs401MissingToken) {
  ExpectUnauthorized(client().Call("GET", "/v1/assistants", ""), "missing_token");
  ExpectUnauthorized(client().Send("GET", "/v1/assistants", "", {{"Authorization", "Basic abc"}}),
                     "missing_token");
}

TEST_F(AuthTest, GarbageTokensAre401InvalidToken) {
  for (const std::string t : {"x", "a.b", "a.b.c", "a.b.c.d", "!!!.???.###", "e30.e30."}) {
    ExpectUnauthorized(ListWith(t), "invalid_token");
  }
}

TEST_F(AuthTest, WrongSecretIsRejected) {
  auto s = Settings();
  s.secret = std::string(40, 'w');
  ExpectUnauthorized(ListWith(auth::SignJwt(s, Claims(NewUuid()))), "invalid_token");
}

TEST_F(AuthTest, AlgorithmIsPinnedByConfiguration) {
  const auto claims = Claims(NewUuid());
  // alg none with an empty signature.
  const std::string none =
      Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + Base64UrlEncode(claims.dump()) + ".";
  ExpectUnauthorized(ListWith(none), "invalid_token");
  // A valid HS512 token with the right secret is still refused: HS256 is configured.
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings("HS512"), claims)), "invalid_token");
  EXPECT_EQ(ListWith(auth::SignJwt(Settings(), claims)).status, 200);
}

TEST_F(AuthTest, ExpiredTokenIs401TokenExpired) {
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), Claims(NewUuid(), -120))), "token_expired");
  // Within the 30 s leeway it still passes.
  EXPECT_EQ(ListWith(auth::SignJwt(Settings(), Claims(NewUuid(), -5))).status, 200);
}

TEST_F(AuthTest, ExpIsRequired) {
  auto c = Claims(NewUuid());
  c.erase("exp");
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "invalid_token");
  c["exp"] = "tomorrow";
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "invalid_token");
}

TEST_F(AuthTest, FutureNbfAndIatAreRejected) {
  auto c = Claims(NewUuid());
  c["nbf"] = c["iat"].get<int64_t>() + 600;
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "invalid_token");
  c = Claims(NewUuid());
  c["iat"] = c["iat"].get<int64_t>() + 600;
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "invalid_token");
}

TEST_F(AuthTest, MissingSubIs401MissingSubClaim) {
  auto c = Claims(NewUuid());
  c.erase("sub");
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "missing_sub_claim");
}

TEST_F(AuthTest, AnonKeyIsRejected) {
  const int64_t now = SystemClock().NowSeconds();
  const json anon = {{"role", "anon"}, {"iss", "supabase"}, {"iat", now}, {"exp", now + 3600}};
  EXPECT_EQ(ListWith(auth::SignJwt(Settings(), anon)).status, 401);
}

TEST_F(AuthTest, WrongAudienceIs401InvalidAudience) {
  auto c = Claims(NewUuid());
  c["aud"] = "someone-else";
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "invalid_audience");
  c.erase("aud");
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "invalid_audience");
  c["aud"] = json::array({"other", "authenticated"});
  EXPECT_EQ(ListWith(auth::SignJwt(Settings(), c)).status, 200);
}

TEST_F(AuthTest, NonUuidSubIsRejected) {
  auto c = Claims("not-a-uuid");
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "invalid_token");
}

TEST_F(AuthTest, DuplicateClaimsAreRejected) {
  const int64_t now = SystemClock().NowSeconds();
  const std::string payload = R"({"sub":")" + NewUuid() + R"(","sub":")" + NewUuid() +
                              R"(","aud":"authenticated","role":"authenticated","exp":)" +
                              std::to_string(now + 3600) + "}";
  const std::string input =
      Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + Base64UrlEncode(payload);
  const std::string sig = auth::SignatureFor(Settings(), input);
  ExpectUnauthorized(ListWith(input + "." + sig), "invalid_token");
}

TEST_F(AuthTest, PaddedOrNonCanonicalBase64IsRejected) {
  const std::string token = auth::SignJwt(Settings(), Claims(NewUuid()));
  const auto dot = token.find('.');
  ExpectUnauthorized(ListWith(token.substr(0, dot) + "=" + token.substr(dot)), "invalid_token");
}

TEST_F(AuthTest, OversizedTokenIsRejectedEarly) {
  auto c = Claims(NewUuid());
  c["padding"] = std::string(9000, 'p');
  ExpectUnauthorized(ListWith(auth::SignJwt(Settings(), c)), "invalid_token");
}

TEST_F(AuthTest, TamperedPayloadIsRejected) {
  const std::string token = auth::SignJwt(Settings(), Claims(NewUuid()));
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  auto claims = Claims(NewUuid());
  claims["role"] = "admin";
  const std::string forged =
      token.substr(0, d1) + "." + Base64UrlEncode(claims.dump()) + token.substr(d2);
  ExpectUnauthorized(ListWith(forged), "invalid_token");
}

TEST_F(AuthTest, UnknownRoleIs403) {
  auto c = Claims(NewUuid());
  c["role"] = "superuser";
  const auto r = ListWith(auth::SignJwt(Settings(), c));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Json()["error"]["code"], "unknown_role");
}

TEST_F(AuthTest, TokenFromPyJwtIsAccepted) {
  const std::string sub = NewUuid();
  const std::string script =
      "import jwt, sys, time\n"
      "now = int(time.time())\n"
      "print(jwt.encode({'sub': sys.argv[2], 'role': 'authenticated', 'aud': 'authenticated',"
      " 'iat': now, 'exp': now + 600, 'email': 'py@example.com'}, sys.argv[1], "
      "algorithm='HS256'))\n";
  const auto r = RunCommand({"/usr/bin/python3", "-c", script, Secret(), sub});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  const auto created = client().Call("POST", "/v1/assistants", token, R"({"name":"from python"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json()["userId"], sub);
}

TEST_F(AuthTest, TokenCommandPrintsOnlyAToken) {
  const std::string t = server().Token(NewUuid(), "premium", "15m");
  EXPECT_EQ(std::count(t.begin(), t.end(), '.'), 2);
  EXPECT_EQ(t.find_first_of(" \n{"), std::string::npos);
  EXPECT_EQ(ListWith(t).status, 200);
}

// Changing the shared HS256 secret across a fleet without refusing a valid token: every
// instance first accepts the new secret (--jwt-accepted-secret), then signs with it and
// accepts the old one, then drops the old one once its tokens have expired. Played on one
// data dir, restarting as the instances would, with minted tokens and /auth/v1 sessions.
TEST(SecretRotationTest, ARollingChangeOfTheSharedSecretRefusesNoValidToken) {
  const std::string old_secret(40, 'o');
  const std::string new_secret(40, 'n');
  TempDir dir;
  const std::string user = NewUuid();
  const auto mint = [&](const std::string& secret) {
    const auto r = RunCommand({AssistantdBinary(), "token", "--data-dir", dir.path(),
                               "--jwt-secret", secret, "--sub", user});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  };
  const std::string minted_old = mint(old_secret);
  const std::string minted_new = mint(new_secret);
  const auto start = [&](std::vector<std::string> args,
                         std::map<std::string, std::string> env = {}) {
    return ServerProcess::Start(
        {.args = std::move(args), .env = std::move(env), .data_dir = dir.path()});
  };
  const auto status = [](ServerProcess& s, const std::string& token) {
    HttpClient http(s.port());
    return http.Call("GET", "/v1/assistants", token).status;
  };
  const auto sign_in = [](ServerProcess& s) {
    HttpClient http(s.port());
    const auto r = http.Call("POST", "/auth/v1/token?grant_type=password", "",
                             R"({"email":"rotate@example.com","password":"correct horse 9"})");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("access_token", std::string());
  };

  // 1. Still signing with the old secret, already accepting the new one.
  std::string session_old;
  {
    auto s = start({"--jwt-secret", old_secret, "--jwt-accepted-secret", new_secret});
    HttpClient http(s->port());
    const auto signup = http.Call("POST", "/auth/v1/signup", "",
                                  R"({"email":"rotate@example.com","password":"correct horse 9"})");
    ASSERT_EQ(signup.status, 200) << signup.body;
    session_old = signup.Json()["access_token"];
    EXPECT_EQ(status(*s, minted_old), 200);
    EXPECT_EQ(status(*s, minted_new), 200);
    EXPECT_EQ(status(*s, session_old), 200);
    ASSERT_EQ(s->Stop(), 0);
  }
  // 2. Signing with the new secret, still accepting the old one (here from the environment,
  //    comma-separated).
  std::string session_new;
  {
    auto s = start({"--jwt-secret", new_secret},
                   {{"ASSISTANTD_JWT_ACCEPTED_SECRETS", std::string(48, 'z') + "," + old_secret}});
    session_new = sign_in(*s);
    EXPECT_EQ(status(*s, minted_old), 200);
    EXPECT_EQ(status(*s, minted_new), 200);
    EXPECT_EQ(status(*s, session_old), 200);
    EXPECT_EQ(status(*s, session_new), 200);
    ASSERT_EQ(s->Stop(), 0);
  }
  // An instance left on the old secret alone would refuse what the others now sign: why
  // step 1 comes first.
  {
    auto s = start({"--jwt-secret", old_secret});
    EXPECT_EQ(status(*s, session_old), 200);
    EXPECT_EQ(status(*s, minted_new), 401);
    EXPECT_EQ(status(*s, session_new), 401);
    ASSERT_EQ(s->Stop(), 0);
  }
  // 3. The old secret dropped: its tokens are refused, the new ones keep working.
  {
    auto s = start({"--jwt-secret", new_secret});
    EXPECT_EQ(status(*s, minted_old), 401);
    EXPECT_EQ(status(*s, session_old), 401);
    EXPECT_EQ(status(*s, minted_new), 200);
    EXPECT_EQ(status(*s, session_new), 200);
  }
  // A short accepted secret is refused at start like a short secret.
  const auto short_one = RunCommand({AssistantdBinary(), "serve", "--data-dir", dir.path(),
                                     "--listen", "127.0.0.1:0", "--jwt-accepted-secret", "short"});
  EXPECT_EQ(short_one.exit_code, 1);
  EXPECT_NE(short_one.err.find("--jwt-accepted-secret must be at least 32 bytes"),
            std::string::npos)
      << short_one.err;
}

}  // namespace
}  // namespace assistantd::testing
