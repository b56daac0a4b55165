// What Vapi ends up holding, end to end: the real assistantd syncing to the real vapi-sim
// (which judges bodies with Vapi's published schema): cleared fields reach Vapi, fields the
// copy holds and we do not are drift, and a field Vapi stops accepting is visible.
#include <gtest/gtest.h>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

class VapiFidelityTest : public SyncTest {
 protected:
  HttpResult Remote(const std::string& method, const std::string& path, const json& body) {
    return control_->Call(method, path, "vk", body.dump());
  }
  json Patch(const std::string& id, const json& body) {
    const auto r = api_->Call("PATCH", "/v1/assistants/" + id, token_, body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  json WaitVersionSynced(const std::string& id, int version) {
    return WaitSync(id, [version](const json& s) {
      return s["syncStatus"] == "synced" && s["version"] == version;
    });
  }
  // The remote copy, without what Vapi owns and without our tag in metadata.
  json RemoteFields() {
    const auto state = SimState();
    EXPECT_EQ(state.size(), 1u);
    json copy = state.empty() ? json::object() : state[0];
    for (const char* owned : {"id", "orgId", "createdAt", "updatedAt", "latestVersion"}) {
      copy.erase(owned);
    }
    copy["metadata"].erase("assistantdId");
    copy["metadata"].erase("assistantdInstance");
    if (copy["metadata"].empty()) copy.erase("metadata");
    return copy;
  }
  // Ours, without the server's fields.
  json LocalFields(const std::string& id) {
    json a = api_->Call("GET", "/v1/assistants/" + id, token_).Json();
    for (const char* owned : {"id", "userId", "vapiId", "syncStatus", "syncError", "lastSyncedAt",
                              "version", "createdAt", "updatedAt"}) {
      a.erase(owned);
    }
    return a;
  }
};

TEST_F(VapiFidelityTest, ClearedAndReplacedFieldsReachVapi) {
  const std::string id =
      Create({{"name", "Clear me"},
              {"firstMessage", "Hello"},
              {"voice", {{"provider", "vapi"}, {"voiceId", "Elliot"}, {"speed", 1.1}}},
              {"endCallPhrases", {"goodbye", "bye now"}},
              {"firstMessageInterruptionsEnabled", true},
              {"metadata", {{"team", "a"}}}})["id"];
  WaitSynced(id);
  EXPECT_EQ(RemoteFields(), LocalFields(id));

  // Top level and nested fields removed, an array replaced, metadata emptied.
  Patch(id, {{"firstMessage", nullptr},
             {"voice", {{"speed", nullptr}}},
             {"endCallPhrases", {"see you"}},
             {"firstMessageInterruptionsEnabled", nullptr},
             {"metadata", {{"team", nullptr}}}});
  WaitVersionSynced(id, 2);
  const auto local = LocalFields(id);
  EXPECT_FALSE(local.contains("firstMessage"));
  EXPECT_EQ(local["voice"], (json{{"provider", "vapi"}, {"voiceId", "Elliot"}}));
  const auto remote = SimState()[0];
  EXPECT_FALSE(remote.contains("firstMessage")) << remote.dump();
  EXPECT_EQ(remote["voice"], local["voice"]);
  EXPECT_EQ(remote["endCallPhrases"], json::array({"see you"}));
  // Cleared to the default Vapi's schema declares for it.
  EXPECT_EQ(remote["firstMessageInterruptionsEnabled"], false);
  EXPECT_FALSE(remote["metadata"].contains("team"));

  // A second update of something else leaves the cleared fields cleared.
  Patch(id, {{"name", "Cleared"}});
  WaitVersionSynced(id, 3);
  EXPECT_FALSE(SimState()[0].contains("firstMessage"));
  EXPECT_EQ(SimState()[0]["name"], "Cleared");
}

TEST_F(VapiFidelityTest, ReconcileReportsFieldsOnlyTheCopyHoldsAndRepairClearsThem) {
  const std::string id = Create({{"name", "Lean"}})["id"];
  const std::string vapi_id = WaitSynced(id)["vapiId"];
  ASSERT_EQ(Remote("PATCH", "/assistant/" + vapi_id,
                   {{"firstMessage", "Added in the dashboard"}, {"endCallPhrases", {"ciao"}}})
                .status,
            200);
  const auto admin = server_->Token(NewUuid(), "admin");
  const auto report = api_->Call("POST", "/v1/admin/reconcile", admin, "{}").Json();
  ASSERT_EQ(report["drift"]["count"], 1) << report.dump();
  EXPECT_EQ(report["drift"]["items"][0]["fields"], (json{"endCallPhrases", "firstMessage"}));

  const auto repair = api_->Call("POST", "/v1/admin/reconcile", admin, R"({"repairDrift":true})");
  ASSERT_EQ(repair.Json()["actions"]["driftRequeued"], 1) << repair.body;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (SimState()[0].contains("firstMessage") && std::chrono::steady_clock::now() < deadline) {
    Pause();
  }
  EXPECT_EQ(RemoteFields(), LocalFields(id));
  EXPECT_EQ(SimState()[0]["id"], vapi_id);
  const auto again = api_->Call("POST", "/v1/admin/reconcile", admin, "{}").Json();
  EXPECT_EQ(again["drift"]["count"], 0) << again.dump();
}

TEST_F(VapiFidelityTest, AFieldVapiStopsAcceptingIsRecordedAndCountedByField) {
  Faults({{"refuseFields", {"firstMessage"}}});
  const std::string id = Create({{"name", "Drifted"}, {"firstMessage", "Hi"}})["id"];
  const auto s = WaitSync(id, [](const json& x) { return x["syncStatus"] == "failed"; });
  EXPECT_NE(s["syncError"].get<std::string>().find("property firstMessage should not exist"),
            std::string::npos)
      << s.dump();
  const std::string metrics = api_->Send("GET", "/metrics").body;
  EXPECT_NE(metrics.find(
                R"(assistantd_vapi_rejected_fields_total{field="firstMessage",kind="unknown"} 1)"),
            std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace assistantd::testing
