// CurlVapiClient against the real vapi-sim, one fault kind at a time.
#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "domain/assistant_fields.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "vapi/curl_vapi_client.hpp"

namespace assistantd::vapi {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::ServerProcess;

class VapiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = ServerProcess::StartVapiSim({"--api-key", "k"});
    control_ = std::make_unique<HttpClient>(sim_->port());
  }

  std::unique_ptr<CurlVapiClient> Client(const std::string& suffix = "/v1/",
                                         long timeout_ms = 10000, size_t max_bytes = 1 << 20) {
    CurlSettings s;
    s.base_url = "http://127.0.0.1:" + std::to_string(sim_->port()) + suffix;
    s.total_timeout_ms = timeout_ms;
    s.max_response_bytes = max_bytes;
    return std::make_unique<CurlVapiClient>(s, clock_, logs_.Make("vapi"));
  }
  void Faults(const json& f) {
    control_->Send("PUT", "/__sim/faults", f.dump(), {{"Content-Type", "application/json"}});
  }
  json State() { return control_->Send("GET", "/__sim/state").Json(); }

  SystemClock clock_;
  LogFactory logs_{"off"};
  std::unique_ptr<ServerProcess> sim_;
  std::unique_ptr<HttpClient> control_;
};

TEST_F(VapiClientTest, RoundTripThroughAV1BaseUrl) {
  auto c = Client("/v1/");
  const json fields = {
      {"name", "Client"}, {"endCallAfterSilence", true}, {"maxDurationSeconds", 60}};
  const auto created = c->CreateAssistant("k", domain::VapiPayload(fields, {"ours-1", ""}));
  ASSERT_TRUE(created) << created.error().reason;
  const std::string id = (*created)["id"];
  EXPECT_EQ((*created)["metadata"]["assistantdId"], "ours-1");
  EXPECT_FALSE(created->contains("endCallAfterSilence"));
  EXPECT_EQ((*c->GetAssistant("k", id))["name"], "Client");
  EXPECT_EQ((*c->UpdateAssistant("k", id, {{"name", "Renamed"}}))["name"], "Renamed");
  const auto list = c->ListAssistants("k", {});
  ASSERT_TRUE(list && list->is_array());
  EXPECT_EQ(list->size(), 1u);
  EXPECT_TRUE(c->DeleteAssistant("k", id));
  const auto gone = c->GetAssistant("k", id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().status, 404);
  EXPECT_EQ(gone.error().kind, FailureKind::kPermanent);
}

TEST_F(VapiClientTest, ListPassesCreationBounds) {
  auto c = Client();
  ASSERT_TRUE(c->CreateAssistant("k", json::object()));
  ListParams p;
  p.created_at_le = "2000-01-01T00:00:00.000Z";
  EXPECT_EQ(c->ListAssistants("k", p)->size(), 0u);
  p.created_at_le.reset();
  p.created_at_ge = "2000-01-01T00:00:00.000Z";
  EXPECT_EQ(c->ListAssistants("k", p)->size(), 1u);
}

TEST_F(VapiClientTest, ValidationErrorsArePermanentWithVapisReason) {
  const auto r = Client()->CreateAssistant("k", {{"name", std::string(41, 'n')}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailureKind::kPermanent);
  EXPECT_EQ(r.error().status, 400);
  EXPECT_NE(r.error().reason.find("name"), std::string::npos) << r.error().reason;
  EXPECT_FALSE(r.error().outcome_unknown);
}

TEST_F(VapiClientTest, WrongKeyIsPermanent) {
  const auto r = Client()->ListAssistants("wrong", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 401);
  EXPECT_EQ(r.error().kind, FailureKind::kPermanent);
}

TEST_F(VapiClientTest, ServerErrorsAreTransientAndAmbiguous) {
  Faults({{"failRate", 1}, {"failStatuses", {503}}});
  const auto r = Client()->CreateAssistant("k", json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailureKind::kTransient);
  EXPECT_EQ(r.error().status, 503);
  EXPECT_TRUE(r.error().outcome_unknown);
}

TEST_F(VapiClientTest, RateLimitCarriesRetryAfter) {
  Faults({{"failRate", 1}, {"failStatuses", {429}}, {"retryAfterSeconds", 9}});
  const auto r = Client()->ListAssistants("k", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailureKind::kTransient);
  EXPECT_EQ(r.error().retry_after_seconds, 9);
}

TEST_F(VapiClientTest, ConnectionResetIsTransientAndAmbiguous) {
  Faults({{"resetRate", 1}});
  const auto r = Client()->CreateAssistant("k", json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailureKind::kTransient);
  EXPECT_EQ(r.error().status, 0);
  EXPECT_TRUE(r.error().outcome_unknown);
}

TEST_F(VapiClientTest, HangEndsAtTheClientTimeout) {
  Faults({{"hangRate", 1}});
  const auto r = Client("/", 300)->GetAssistant("k", "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailureKind::kTransient);
  EXPECT_NE(r.error().reason.find("network error"), std::string::npos);
}

TEST_F(VapiClientTest, CommitThenFailLooksLikeA500ButTheAssistantExists) {
  Faults({{"commitThenFailRate", 1}});
  const auto r = Client()->CreateAssistant("k", domain::VapiPayload(json::object(), {"dup-1", ""}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
  EXPECT_TRUE(r.error().outcome_unknown);
  ASSERT_EQ(State().size(), 1u);
  EXPECT_EQ(State()[0]["metadata"]["assistantdId"], "dup-1");
}

TEST_F(VapiClientTest, UnreachableServerIsTransientWithoutAmbiguity) {
  CurlSettings s;
  s.base_url = "http://127.0.0.1:1";
  CurlVapiClient c(s, clock_, logs_.Make("vapi"));
  const auto r = c.CreateAssistant("k", json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailureKind::kTransient);
  EXPECT_FALSE(r.error().outcome_unknown);
}

TEST_F(VapiClientTest, OversizedResponsesAreRefused) {
  auto c = Client();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->CreateAssistant("k", {{"name", "padding"}}));
  const auto r = Client("/", 10000, 200)->ListAssistants("k", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().reason.find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace assistantd::vapi
