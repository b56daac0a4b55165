// Quotas and rate limits (C11): exact under concurrency, and across instances through Redis.
#include <atomic>
#include <cstdlib>
#include <thread>

#include "integration/accounts_fixture.hpp"
#include "limits/redis_rate_limiter.hpp"

namespace assistantd::testing {
namespace {

class LimitsTest : public AccountsTest {
 protected:
  // The Redis server `make test` starts (scripts/test-services.sh).
  static std::string RedisUrl() {
    const char* url = std::getenv("ASSISTANTD_TEST_REDIS_URL");
    return url ? url : "";
  }

  // Two instances sharing a data dir (same JWT secret, same database) and a key prefix of
  // their own in Redis, both started with `flags`; null (and the test failed) without the
  // Redis server `make test` starts.
  struct RedisPair {
    TempDir dir;
    std::unique_ptr<ServerProcess> a;
    std::unique_ptr<ServerProcess> b;
  };
  static std::unique_ptr<RedisPair> StartSharingRedis(const std::vector<std::string>& flags) {
    const std::string redis = RedisUrl();
    if (redis.empty()) {
      ADD_FAILURE() << "ASSISTANTD_TEST_REDIS_URL is not set: run `make test`, which starts a "
                       "Redis server";
      return nullptr;
    }
    auto pair = std::make_unique<RedisPair>();
    std::vector<std::string> args = {"--sync-workers",     "0",
                                     "--redis-url",        redis,
                                     "--redis-key-prefix", "assistantd-test:" + NewUuid() + ":"};
    args.insert(args.end(), flags.begin(), flags.end());
    // One database for both: PostgreSQL's (one SQLite file serves one process).
    const auto url = PostgresDatabaseUrl(pair->dir.path());
    pair->a =
        ServerProcess::Start({.args = args, .data_dir = pair->dir.path(), .database_url = url});
    pair->b =
        ServerProcess::Start({.args = args, .data_dir = pair->dir.path(), .database_url = url});
    return pair;
  }
};

TEST_F(LimitsTest, FiftyConcurrentCreatesAtQuotaTenGiveExactlyTen) {
  Start({"--max-assistants-user", "10", "--rate-limit-user", "0"});
  const std::string token = server_->Token(NewUuid(), "user");
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(server_->port());
      for (int i = 0; i < 5; ++i) {
        const auto r = c.Call("POST", "/v1/assistants", token,
                              json{{"name", "q" + std::to_string(t * 5 + i)}}.dump());
        if (r.status == 201) {
          ++created;
        } else if (r.status == 403 && r.Json()["error"]["code"] == "quota_exceeded") {
          ++refused;
          const auto d = r.Json()["error"]["details"][0];
          EXPECT_EQ(d["limit"], 10);
          EXPECT_EQ(d["usage"], 10);
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 10);
  EXPECT_EQ(refused.load(), 40);
  EXPECT_EQ(other.load(), 0);
  const auto list = client_->Call("GET", "/v1/assistants?limit=100", token);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.Json()["data"].size(), 10u);

  // Deleting one frees a place; the test role has its own, higher quota.
  const std::string id = list.Json()["data"][0]["id"];
  ASSERT_EQ(client_->Call("DELETE", "/v1/assistants/" + id, token).status, 204);
  EXPECT_EQ(client_->Call("POST", "/v1/assistants", token, R"({"name":"again"})").status, 201);
  EXPECT_EQ(client_->Call("POST", "/v1/assistants", token, R"({"name":"over"})").status, 403);
  const std::string tester = server_->Token(NewUuid(), "test");
  for (int i = 0; i < 11; ++i) {
    ASSERT_EQ(client_->Call("POST", "/v1/assistants", tester, R"({"name":"t"})").status, 201);
  }
}

TEST_F(LimitsTest, RequestsOverTheRoleLimitGet429WithRateLimitHeaders) {
  Start({"--rate-limit-user", "5/1m", "--rate-limit-premium", "8/1m"});
  const std::string token = server_->Token(NewUuid(), "user");
  for (int i = 0; i < 5; ++i) {
    const auto r = client_->Call("GET", "/v1/assistants", token);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("ratelimit-policy"), "\"requests\";q=5;w=60");
    EXPECT_TRUE(
        r.Header("ratelimit").starts_with("\"requests\";r=" + std::to_string(4 - i) + ";t="))
        << r.Header("ratelimit");
  }
  const auto over = client_->Call("GET", "/v1/assistants", token);
  ASSERT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(over.Json()["error"]["code"], "rate_limited");
  const int retry = std::stoi(over.Header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  EXPECT_TRUE(over.Header("ratelimit").starts_with("\"requests\";r=0;t="));
  // Writes over the limit change nothing.
  EXPECT_EQ(client_->Call("POST", "/v1/assistants", token, R"({"name":"x"})").status, 429);
  // Limits are per account, and per role.
  const std::string other = server_->Token(NewUuid(), "premium");
  for (int i = 0; i < 8; ++i) EXPECT_EQ(client_->Call("GET", "/v1/assistants", other).status, 200);
  EXPECT_EQ(client_->Call("GET", "/v1/assistants", other).status, 429);
  const std::string admin = server_->Token(NewUuid(), "admin");
  const auto listed = client_->Call("GET", "/v1/assistants", admin);
  EXPECT_EQ(listed.status, 200);
  EXPECT_FALSE(listed.HasHeader("ratelimit"));
}

TEST_F(LimitsTest, BruteForceSignInMeetsThePerAccountLimit) {
  Start({"--rate-limit-signin-account", "3/5m"});
  const std::string email = UniqueEmail();
  NewSession(email, "correct horse");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(SignIn(email, "guess " + std::to_string(i)).status, 400);
  // Even the right password is refused once the account's attempts are used up.
  const auto blocked = SignIn(email, "correct horse");
  ASSERT_EQ(blocked.status, 429) << blocked.body;
  EXPECT_EQ(Code(blocked), "over_request_rate_limit");
  EXPECT_GE(std::stoi(blocked.Header("retry-after")), 1);
  EXPECT_FALSE(blocked.Header("ratelimit-policy").empty());
  // Other accounts are not affected.
  const std::string other = UniqueEmail();
  NewSession(other, "correct horse");
  EXPECT_EQ(SignIn(other, "correct horse").status, 200);
}

TEST_F(LimitsTest, SignUpsAndTokenCallsAreLimitedPerIp) {
  Start({"--rate-limit-signup-ip", "2/5m", "--rate-limit-token-ip", "3/5m"});
  const std::string email = UniqueEmail();
  const auto s = NewSession(email);
  NewSession(UniqueEmail());
  const auto third = SignUp(UniqueEmail(), "correct horse");
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(Code(third), "over_request_rate_limit");
  std::string refresh = s["refresh_token"];
  for (int i = 0; i < 3; ++i) {
    const auto r = Refresh(refresh);
    ASSERT_EQ(r.status, 200) << r.body;
    refresh = r.Json()["refresh_token"];
  }
  EXPECT_EQ(Refresh(refresh).status, 429);
  EXPECT_EQ(SignIn(email, "correct horse").status, 429);
}

TEST_F(LimitsTest, BehindATrustedProxyPerIpLimitsSeeTheForwardedClient) {
  Start({"--rate-limit-signup-ip", "1/5m", "--trusted-proxies", "127.0.0.1"});
  const auto from = [&](const std::string& ip) {
    auto h = AuthHeaders();
    h["X-Forwarded-For"] = ip;
    return client_->Send("POST", "/auth/v1/signup",
                         json{{"email", UniqueEmail()}, {"password", "correct horse"}}.dump(), h);
  };
  EXPECT_EQ(from("198.51.100.1").status, 200);
  EXPECT_EQ(from("198.51.100.2").status, 200);  // another client behind the same proxy
  EXPECT_EQ(from("198.51.100.1").status, 429);
  // The audit log records the client, not the proxy.
  const auto trail =
      client_->Call("GET", "/v1/admin/audit?action=user.create&limit=1", AdminToken());
  ASSERT_EQ(trail.status, 200);
  EXPECT_EQ(trail.Json()["data"][0]["ip"], "198.51.100.2");
}

TEST_F(LimitsTest, WithoutATrustedProxyForwardedForIsIgnored) {
  Start({"--rate-limit-signup-ip", "1/5m"});
  auto h = AuthHeaders();
  h["X-Forwarded-For"] = "198.51.100.1";
  EXPECT_EQ(client_
                ->Send("POST", "/auth/v1/signup",
                       json{{"email", UniqueEmail()}, {"password", "correct horse"}}.dump(), h)
                .status,
            200);
  h["X-Forwarded-For"] = "198.51.100.2";  // spoofing a new address does not reset the limit
  EXPECT_EQ(client_
                ->Send("POST", "/auth/v1/signup",
                       json{{"email", UniqueEmail()}, {"password", "correct horse"}}.dump(), h)
                .status,
            429);
}

TEST_F(LimitsTest, RefreshesAreLimitedPerAccountWithoutSpendingTheToken) {
  Start({"--rate-limit-refresh-account", "2/5m"});
  const auto s = NewSession(UniqueEmail());
  std::string refresh = s["refresh_token"];
  std::string access;
  for (int i = 0; i < 2; ++i) {
    const auto r = Refresh(refresh);
    ASSERT_EQ(r.status, 200) << r.body;
    refresh = r.Json()["refresh_token"];
    access = r.Json()["access_token"];
  }
  const auto limited = Refresh(refresh);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(Code(limited), "over_request_rate_limit");
  // The refused token was not used: the session is intact.
  EXPECT_EQ(GetUser(access).status, 200);
  // Another account has its own budget.
  EXPECT_EQ(Refresh(NewSession(UniqueEmail())["refresh_token"]).status, 200);
}

TEST_F(LimitsTest, TwoInstancesSharingRedisEnforceOneLimit) {
  const auto pair = StartSharingRedis({"--rate-limit-user", "10/1m", "--rate-limit-signin-account",
                                       "4/5m", "--publishable-key", kTestPublishableKey});
  ASSERT_TRUE(pair);
  auto& a = pair->a;
  auto& b = pair->b;
  HttpClient ca(a->port());
  HttpClient cb(b->port());
  const std::string token = a->Token(NewUuid(), "user");
  int ok = 0;
  int limited = 0;
  for (int i = 0; i < 30; ++i) {
    const auto r = (i % 2 ? cb : ca).Call("GET", "/v1/assistants", token);
    if (r.status == 200) ++ok;
    if (r.status == 429) ++limited;
  }
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(limited, 20);

  // Sign-in guesses spread over both instances share one budget too.
  client_ = std::make_unique<HttpClient>(a->port());
  const std::string email = UniqueEmail();
  NewSession(email);
  int refused = 0;
  for (int i = 0; i < 6; ++i) {
    auto& c = i % 2 ? cb : ca;
    const auto r =
        c.Send("POST", "/auth/v1/token?grant_type=password",
               json{{"email", email}, {"password", "wrong guess"}}.dump(), AuthHeaders());
    if (r.status == 429) ++refused;
  }
  EXPECT_EQ(refused, 2);
}

TEST_F(LimitsTest, ReservedBatchesInRedisNeverAdmitMoreThanTheLimitAcrossInstances) {
  // A limit large enough that each instance reserves hits in batches (up to 64 at a time),
  // spent by concurrent clients on both instances: together they admit exactly the limit, and
  // far fewer round trips reach Redis than requests.
  const auto pair = StartSharingRedis({"--rate-limit-user", "1000/1h"});
  ASSERT_TRUE(pair);
  auto& a = pair->a;
  auto& b = pair->b;
  const std::string token = a->Token(NewUuid(), "user");
  constexpr int kClientsPerInstance = 3, kRequestsPerClient = 250;  // 1,500 requests in all
  std::atomic<int> ok = 0, limited = 0, other = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < 2 * kClientsPerInstance; ++c) {
    clients.emplace_back([&, c] {
      HttpClient client((c % 2 ? b : a)->port());
      for (int i = 0; i < kRequestsPerClient; ++i) {
        const int status = client.Call("GET", "/v1/profile", token).status;
        (status == 200 ? ok : status == 429 ? limited : other)++;
      }
    });
  }
  for (auto& t : clients) t.join();
  // Never more than the limit. Fewer only by hits one instance reserved and had no request
  // left to spend (it then admitted every one of its 750; in practice none are left over).
  EXPECT_LE(ok, 1000);
  EXPECT_GE(ok, 1000 - limits::RedisRateLimiter::kMaxReservation);
  EXPECT_EQ(ok + limited, 1500);
  EXPECT_EQ(other, 0);
  const auto reservations = [](ServerProcess& s) {
    HttpClient c(s.port());
    const std::string text = c.Send("GET", "/metrics").body;
    const std::string name = "assistantd_ratelimit_redis_reservations_total ";
    const auto at = text.find("\n" + name);
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + 1 + name.size()));
  };
  const double trips = reservations(*a) + reservations(*b);
  EXPECT_GT(trips, 0);
  EXPECT_LT(trips, 300) << "batches, not one round trip per request";
}

TEST_F(LimitsTest, AnUnreachableRedisFailsStartUpWithOneLine) {
  TempDir dir;
  const auto r = RunCommand({ASSISTANTD_BINARY, "serve", "--data-dir", dir.path(), "--listen",
                             "127.0.0.1:0", "--redis-url", "redis://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect to Redis"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace assistantd::testing
