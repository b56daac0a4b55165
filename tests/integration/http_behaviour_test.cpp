// The HTTP layer through the real binary: health, metrics, CORS, request ids, routing errors,
// keep-alive and graceful shutdown.
#include <gtest/gtest.h>
#include <signal.h>

#include "integration/api_fixture.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

class HttpBehaviourTest : public ApiTest {};

TEST_F(HttpBehaviourTest, HealthAndReadiness) {
  const auto h = client().Send("GET", "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.Json()["status"], "ok");
  const auto r = client().Send("GET", "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["status"], "ready");
}

TEST_F(HttpBehaviourTest, MetricsCountRequestsByRouteAndStatus) {
  const auto alice = NewActor();
  client().Call("GET", "/v1/assistants/" + NewUuid(), alice.token);
  const auto m = client().Send("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.Header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find("assistantd_http_requests_total{method=\"GET\",route=\"/v1/assistants/"
                        "{id}\",status=\"404\"}"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("assistantd_http_request_duration_seconds_bucket{method=\"GET\","
                        "route=\"/v1/assistants/{id}\",status=\"404\",le=\"+Inf\"}"),
            std::string::npos);
}

// The value of the sample `series` (name and labels, as rendered) in a /metrics body; -1 if
// absent.
double Sample(const std::string& body, const std::string& series) {
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

TEST_F(HttpBehaviourTest, MetricsTellWhereTheWriteBatchesSpendTheirTime) {
  const auto alice = NewActor();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(client().Call("POST", "/v1/assistants", alice.token, R"({"name":"m"})").status, 201);
  }
  const auto m = client().Send("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  // Each create was acknowledged after its batch committed and was flushed to disk.
  EXPECT_GE(Sample(m.body, "assistantd_write_batch_writes_sum"), 3) << m.body;
  for (const char* stage : {"begin", "run", "commit", "sync"}) {
    EXPECT_GE(Sample(m.body,
                     std::string("assistantd_write_batch_seconds_count{stage=\"") + stage + "\"}"),
              1)
        << stage;
  }
}

TEST_F(HttpBehaviourTest, MetricLabelsComeFromClosedSetsWhateverTheMethod) {
  // Every distinct method string used to become a label value of its own: unbounded memory.
  for (int i = 0; i < 20; ++i) {
    const std::string method = "PROBE" + std::to_string(i) + std::string(200, 'X');
    EXPECT_GE(client().Send(method, "/no/such/path/" + std::to_string(i)).status, 400);
  }
  const auto m = client().Send("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.body.find("PROBE"), std::string::npos);
  EXPECT_EQ(m.body.find("/no/such/path"), std::string::npos);
  EXPECT_NE(m.body.find(R"(assistantd_http_requests_total{method="other",route="unmatched",)"),
            std::string::npos)
      << m.body;
}

TEST_F(HttpBehaviourTest, RequestIdIsEchoedOrGenerated) {
  const auto given = client().Send("GET", "/healthz", "", {{"X-Request-Id", "trace-abc.123"}});
  EXPECT_EQ(given.Header("x-request-id"), "trace-abc.123");
  const auto generated = client().Send("GET", "/healthz");
  EXPECT_EQ(generated.Header("x-request-id").size(), 36u);
  // An unsafe id is replaced, not echoed.
  const auto unsafe = client().Send("GET", "/healthz", "", {{"X-Request-Id", "a b<script>"}});
  EXPECT_EQ(unsafe.Header("x-request-id").size(), 36u);
  // Error bodies carry the same id.
  const auto err = client().Send("GET", "/v1/assistants", "", {{"X-Request-Id", "req-42"}});
  EXPECT_EQ(err.Json()["error"]["requestId"], "req-42");
}

TEST_F(HttpBehaviourTest, CorsPreflightAnswersLikeSupabaseFunctions) {
  const auto r = client().Send(
      "OPTIONS", "/functions/v1/assistants", "",
      {{"Origin", "http://localhost:3000"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.Header("access-control-allow-origin"), "*");
  const auto allow = r.Header("access-control-allow-headers");
  for (const char* h : {"authorization", "x-client-info", "apikey", "content-type",
                        "x-supabase-api-version", "x-region"}) {
    EXPECT_NE(allow.find(h), std::string::npos) << h;
  }
  EXPECT_NE(r.Header("access-control-allow-methods").find("PATCH"), std::string::npos);
  const auto expose = client().Send("GET", "/healthz").Header("access-control-expose-headers");
  for (const char* h : {"X-Request-Id", "X-Supabase-Api-Version", "RateLimit", "Retry-After"}) {
    EXPECT_NE(expose.find(h), std::string::npos) << h;
  }
}

TEST_F(HttpBehaviourTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  const auto nf = client().Send("GET", "/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.Json()["error"]["code"], "route_not_found");
  const auto na =
      client().Send("PUT", "/v1/assistants", "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.Header("allow"), "GET, POST, OPTIONS");
  EXPECT_EQ(na.Json()["error"]["code"], "method_not_allowed");
  const auto na2 = client().Send("POST", "/v1/assistants/" + NewUuid());
  EXPECT_EQ(na2.Header("allow"), "GET, PATCH, DELETE, OPTIONS");
}

TEST_F(HttpBehaviourTest, TrailingSlashNamesTheSameCollection) {
  const auto alice = NewActor();
  EXPECT_EQ(client().Call("GET", "/v1/assistants/", alice.token).status, 200);
}

TEST_F(HttpBehaviourTest, KeepAliveServesManyRequestsOnOneConnection) {
  const auto alice = NewActor();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(client().Call("GET", "/v1/assistants", alice.token).status, 200);
  }
  EXPECT_EQ(client().reconnects(), 0);
}

TEST_F(HttpBehaviourTest, ErrorsNeverLeakInternals) {
  const auto alice = NewActor();
  const auto r = client().Call("POST", "/v1/assistants", alice.token, R"({"name": )");
  EXPECT_EQ(r.body.find("SQL"), std::string::npos);
  EXPECT_EQ(r.body.find("sqlite"), std::string::npos);
  EXPECT_EQ(r.body.find(alice.token), std::string::npos);
}

TEST_F(HttpBehaviourTest, LogsNeverContainTokens) {
  const auto alice = NewActor();
  client().Call("GET", "/v1/assistants", alice.token);
  client().Call("GET", "/v1/assistants", alice.token + "tampered");
  ASSERT_TRUE(server().WaitForLog(alice.id));  // the access log names the user
  client().Send("GET", "/healthz", "", {{"X-Request-Id", "last-request"}});
  ASSERT_TRUE(server().WaitForLog("last-request"));  // every earlier line is in by now
  const auto logs = server().Logs();
  EXPECT_EQ(logs.find(alice.token.substr(alice.token.rfind('.') + 1)), std::string::npos);
}

TEST(ShutdownTest, SigtermDrainsAndExitsZero) {
  auto server = ServerProcess::Start({});
  HttpClient c(server->port());
  ASSERT_EQ(c.Send("GET", "/healthz").status, 200);  // an idle keep-alive connection stays open
  EXPECT_EQ(server->Stop(SIGTERM), 0);
  EXPECT_NE(server->Logs().find("\"msg\":\"stopped\""), std::string::npos);
}

TEST(ShutdownTest, SigintAlsoExitsZero) {
  auto server = ServerProcess::Start({});
  EXPECT_EQ(server->Stop(SIGINT), 0);
}

}  // namespace
}  // namespace assistantd::testing
