// vapi-sim against ../shared/spec/vapi-assistants-api.md §14, over HTTP on a real process.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/uuid.hpp"
#include "http/beast.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

class VapiSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = ServerProcess::StartVapiSim({"--api-key", "key-one", "--api-key", "key-two"});
    client_ = std::make_unique<HttpClient>(sim_->port());
  }

  HttpResult Api(const std::string& method, const std::string& target, const json& body = nullptr,
                 const std::string& key = "key-one") {
    std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + key},
                                                  {"Accept", "*/*"}};
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    return client_->Send(method, target, body.is_null() ? "" : body.dump(), headers);
  }
  HttpResult PutFaults(const json& faults) {
    return client_->Send("PUT", "/__sim/faults", faults.dump(),
                         {{"Content-Type", "application/json"}});
  }
  json State() { return client_->Send("GET", "/__sim/state").Json(); }

  std::unique_ptr<ServerProcess> sim_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(VapiSimTest, CrudRoundTripFollowsTheSpec) {
  const auto created = Api("POST", "/assistant", {{"name", "Sim"}, {"metadata", {{"ours", "a1"}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const auto a = created.Json();
  EXPECT_TRUE(NormalizeUuid(a["id"].get<std::string>()));
  for (const char* k : {"orgId", "createdAt", "updatedAt"}) EXPECT_TRUE(a.contains(k)) << k;
  EXPECT_EQ(a["createdAt"].get<std::string>().size(), 24u);  // YYYY-MM-DDTHH:MM:SS.mmmZ
  const std::string url = "/assistant/" + a["id"].get<std::string>();
  EXPECT_EQ(Api("GET", url).Json(), a);
  const auto updated = Api("PATCH", url, {{"firstMessage", "Hi"}});
  ASSERT_EQ(updated.status, 200);
  EXPECT_EQ(updated.Json()["name"], "Sim");
  EXPECT_EQ(updated.Json()["firstMessage"], "Hi");
  const auto deleted = Api("DELETE", url);
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.Json()["firstMessage"], "Hi");  // the deleted object
  const auto gone = Api("GET", url);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.Json()["error"], "Not Found");
  EXPECT_EQ(gone.Json()["statusCode"], 404);
  EXPECT_EQ(Api("DELETE", url).status, 404);
}

TEST_F(VapiSimTest, AnyPathPrefixIsAccepted) {
  EXPECT_EQ(Api("POST", "/v1/assistant", json::object()).status, 201);
  EXPECT_EQ(Api("GET", "/api/v2/assistant").Json().size(), 1u);
  EXPECT_EQ(Api("GET", "/assistants").status, 404);
}

TEST_F(VapiSimTest, KeysAreCheckedAndScopeOrganisations) {
  EXPECT_EQ(client_->Send("GET", "/assistant").status, 401);
  const auto bad = Api("GET", "/assistant", nullptr, "not-a-key");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.Json()["error"], "Unauthorized");
  const auto a = Api("POST", "/assistant", json::object()).Json();
  EXPECT_EQ(Api("GET", "/assistant/" + a["id"].get<std::string>(), nullptr, "key-two").status, 404);
  EXPECT_EQ(Api("GET", "/assistant", nullptr, "key-two").Json().size(), 0u);
  EXPECT_NE(Api("POST", "/assistant", json::object(), "key-two").Json()["orgId"], a["orgId"]);
}

TEST_F(VapiSimTest, ValidationAnswers400WithAMessageArray) {
  const auto r = Api("POST", "/assistant",
                     {{"name", std::string(41, 'n')},
                      {"endCallAfterSilence", true},
                      {"silenceTimeoutSeconds", 30},
                      {"maxDurationSeconds", 5}});
  ASSERT_EQ(r.status, 400);
  const auto body = r.Json();
  EXPECT_EQ(body["error"], "Bad Request");
  ASSERT_TRUE(body["message"].is_array());
  const auto messages = body["message"].dump();
  EXPECT_NE(messages.find("property endCallAfterSilence should not exist"), std::string::npos);
  // Not in Vapi's CreateAssistantDto either (spec §7), so the simulator refuses it as Vapi would.
  EXPECT_NE(messages.find("property silenceTimeoutSeconds should not exist"), std::string::npos);
  // Vapi's schema judges the rest (RapidJSON names the first violation it meets).
  EXPECT_NE(messages.find("does not satisfy"), std::string::npos);
  EXPECT_EQ(Api("POST", "/assistant", {{"maxDurationSeconds", 5}}).Json()["message"],
            json::array({"maxDurationSeconds does not satisfy the \"minimum\" constraint"}));
  EXPECT_EQ(
      Api("POST", "/assistant", {{"voice", {{"provider", "deepgram"}, {"voiceId", "x"}}}}).status,
      400);
  EXPECT_EQ(State().size(), 0u);
  EXPECT_EQ(Api("POST", "/assistant", {{"metadata", {{"is_test", "free-form"}}}}).status, 201);
}

TEST_F(VapiSimTest, PatchIsAShallowMerge) {
  const auto a = Api("POST", "/assistant",
                     {{"model", {{"provider", "openai"}, {"model", "gpt-4o"}, {"temperature", 1}}}})
                     .Json();
  const std::string url = "/assistant/" + a["id"].get<std::string>();
  // A partial model is not a valid model: the whole object is validated and replaced.
  EXPECT_EQ(Api("PATCH", url, {{"model", {{"temperature", 0.2}}}}).status, 400);
  const auto r = Api("PATCH", url, {{"model", {{"provider", "vapi"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["model"], (json{{"provider", "vapi"}}));
}

TEST_F(VapiSimTest, ListHonoursLimitOrderAndTimeFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Api("POST", "/assistant", json::object()).Json()["id"]);
  const auto all = Api("GET", "/assistant").Json();
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i - 1]["createdAt"], all[i]["createdAt"]);
  EXPECT_EQ(Api("GET", "/assistant?limit=2").Json().size(), 2u);
  EXPECT_EQ(Api("GET", "/assistant?limit=0").Json().size(), 0u);
  EXPECT_EQ(Api("GET", "/assistant?limit=1001").status, 400);
  EXPECT_EQ(Api("GET", "/assistant?page=2").status, 400);
  EXPECT_EQ(Api("GET", "/assistant?createdAtGt=2999-01-01T00%3A00%3A00.000Z").Json().size(), 0u);
  EXPECT_EQ(
      Api("GET", "/assistant?createdAtGe=2000-01-01T00:00:00Z&updatedAtLe=2999-01-01T00:00:00Z")
          .Json()
          .size(),
      5u);
  const std::string oldest = all.back()["createdAt"];
  const auto le = Api("GET", "/assistant?createdAtLe=" + oldest).Json();
  ASSERT_GE(le.size(), 1u);
  for (const auto& a : le) EXPECT_LE(a["createdAt"], oldest);
  EXPECT_EQ(Api("GET", "/assistant?createdAtLt=yesterday").status, 400);
}

TEST_F(VapiSimTest, IdsMustBeUuids) {
  EXPECT_EQ(Api("GET", "/assistant/123").status, 400);
  EXPECT_EQ(Api("GET", "/assistant/" + NewUuid()).status, 404);
}

TEST_F(VapiSimTest, InjectedFailuresChangeNothingAndAreCounted) {
  ASSERT_EQ(PutFaults({{"failRate", 1}, {"failStatuses", {503}}}).status, 200);
  const auto r = Api("POST", "/assistant", json::object());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Json()["statusCode"], 503);
  EXPECT_EQ(State().size(), 0u);
  const auto stats = client_->Send("GET", "/__sim/stats").Json();
  EXPECT_EQ(stats["byMethod"]["POST"]["503"], 1);
}

TEST_F(VapiSimTest, Injected429CarriesRetryAfter) {
  PutFaults({{"failRate", 1}, {"failStatuses", {429}}, {"retryAfterSeconds", 7}});
  const auto r = Api("GET", "/assistant");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "7");
}

TEST_F(VapiSimTest, CommitThenFailStoresTheAssistantButAnswers500) {
  PutFaults({{"commitThenFailRate", 1}});
  const auto r = Api("POST", "/assistant", {{"name", "Ghost"}});
  EXPECT_EQ(r.status, 500);
  const auto state = State();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0]["name"], "Ghost");
  EXPECT_EQ(client_->Send("GET", "/__sim/stats").Json()["byMethod"]["POST"]["500-committed"], 1);
}

TEST_F(VapiSimTest, ResetFaultDropsTheConnection) {
  PutFaults({{"resetRate", 1}});
  HttpClient victim(sim_->port());
  EXPECT_THROW(victim.Send("GET", "/assistant", "", {{"Authorization", "Bearer key-one"}}),
               std::runtime_error);
  EXPECT_EQ(client_->Send("GET", "/__sim/stats").Json()["byMethod"]["GET"]["reset"], 2);  // + retry
}

TEST_F(VapiSimTest, HangFaultNeverAnswers) {
  PutFaults({{"hangRate", 1}});
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), sim_->port()});
  const std::string req =
      "GET /assistant HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-one\r\n\r\n";
  asio::write(socket, asio::buffer(req));
  // Wait (by polling the control API, not by sleeping) until the sim has handled it.
  for (int i = 0; i < 10000; ++i) {
    const auto stats = client_->Send("GET", "/__sim/stats").Json();
    if (stats["byMethod"].contains("GET") && stats["byMethod"]["GET"].value("hang", 0) == 1) break;
  }
  EXPECT_EQ(client_->Send("GET", "/__sim/stats").Json()["byMethod"]["GET"]["hang"], 1);
  char byte;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_DONTWAIT);
  EXPECT_EQ(n, -1);  // nothing to read: no answer was sent
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(VapiSimTest, SeededFaultsAreReproducible) {
  auto outcomes = [](ServerProcess& sim) {
    HttpClient c(sim.port());
    c.Send("PUT", "/__sim/faults", R"({"failRate":0.5,"failStatuses":[500],"seed":42})",
           {{"Content-Type", "application/json"}});
    std::string seq;
    for (int i = 0; i < 40; ++i) {
      seq += c.Send("GET", "/assistant", "", {{"Authorization", "Bearer k"}}).status == 200 ? '.'
                                                                                            : 'x';
    }
    return seq;
  };
  auto a = ServerProcess::StartVapiSim();
  auto b = ServerProcess::StartVapiSim();
  const auto sa = outcomes(*a);
  EXPECT_EQ(sa, outcomes(*b));
  EXPECT_NE(sa.find('.'), std::string::npos);
  EXPECT_NE(sa.find('x'), std::string::npos);
}

TEST_F(VapiSimTest, ControlEndpointsResetAndValidate) {
  Api("POST", "/assistant", json::object());
  EXPECT_EQ(client_->Send("POST", "/__sim/reset").status, 200);
  EXPECT_EQ(State().size(), 0u);
  EXPECT_EQ(client_->Send("GET", "/__sim/stats").Json()["total"], 0);
  EXPECT_EQ(PutFaults({{"failRate", 2}}).status, 400);
  EXPECT_EQ(PutFaults({{"explode", true}}).status, 400);
  EXPECT_EQ(PutFaults({{"latencyMs", 5}}).Json()["latencyMs"], 5);
  EXPECT_EQ(client_->Send("GET", "/__sim/faults").Json()["latencyMs"], 5);
}

TEST(VapiSimCliTest, BadFlagsAreOneClearLine) {
  const auto r = RunCommand({VapiSimBinary(), "--fail-statuses", "200"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--fail-statuses"), std::string::npos);
  EXPECT_NE(RunCommand({VapiSimBinary(), "--fail-rate", "3"}).exit_code, 0);
}

}  // namespace
}  // namespace assistantd::testing
