// Reconciliation (C8) end to end: the real assistantd, the real vapi-sim, changes made in
// "Vapi" behind assistantd's back, then POST /v1/admin/reconcile or `assistantd reconcile`.
#include <gtest/gtest.h>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

class ReconcileTest : public SyncTest {
 protected:
  // Calls the simulator's public API as Vapi's customers would (key "vk").
  HttpResult Remote(const std::string& method, const std::string& path,
                    const json& body = nullptr) {
    return control_->Call(method, path, "vk", body.is_null() ? "" : body.dump());
  }
  json Reconcile(const json& body) {
    const auto r = api_->Call("POST", "/v1/admin/reconcile", Admin(), body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  std::string Admin() { return server_->Token(NewUuid(), "admin"); }
  // The installation id every remote copy carries.
  std::string Instance() {
    const auto state = SimState();
    EXPECT_FALSE(state.empty());
    return state.empty() ? "" : state[0]["metadata"]["assistantdInstance"].get<std::string>();
  }
  std::string CreateSynced(const std::string& name) {
    const std::string id = Create({{"name", name}})["id"];
    WaitSynced(id);
    return id;
  }
  // Waits until the simulator holds exactly one copy of each of `ids`.
  void WaitOneCopyEach(const std::vector<std::string>& ids) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      const auto copies = RemoteCopies();
      bool done = true;
      for (const auto& id : ids) done = done && copies.contains(id) && copies.at(id) == 1;
      if (done) return;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "remote copies did not converge: " << SimState().dump();
        return;
      }
      Pause();
    }
  }
};

TEST_F(ReconcileTest, RecreatesMissingCopiesAndDeletesOnlyOurOrphansAndDuplicates) {
  const auto a = CreateSynced("Deleted in Vapi");
  const auto b = CreateSynced("Duplicated in Vapi");
  const auto c = CreateSynced("Untouched");
  const std::string instance = Instance();
  const std::string a_vapi = SyncStatus(a)["vapiId"];
  ASSERT_EQ(Remote("DELETE", "/assistant/" + a_vapi).status, 200);
  ASSERT_EQ(Remote("POST", "/assistant",
                   {{"name", "copy"},
                    {"metadata", {{"assistantdId", b}, {"assistantdInstance", instance}}}})
                .status,
            201);
  const std::string gone = NewUuid();  // an assistant this installation no longer has
  ASSERT_EQ(Remote("POST", "/assistant",
                   {{"metadata", {{"assistantdId", gone}, {"assistantdInstance", instance}}}})
                .status,
            201);
  // Another installation's copy and a hand-made assistant in the same organisation.
  ASSERT_EQ(Remote("POST", "/assistant",
                   {{"metadata", {{"assistantdId", NewUuid()}, {"assistantdInstance", "staging"}}}})
                .status,
            201);
  ASSERT_EQ(Remote("POST", "/assistant", {{"name", "made by hand"}}).status, 201);
  const auto before = SimState();
  ASSERT_EQ(before.size(), 6u);

  const auto dry = Reconcile({{"dryRun", true}});
  EXPECT_EQ(dry["complete"], true) << dry.dump();
  EXPECT_EQ(dry["missing"]["count"], 1);
  EXPECT_EQ(dry["missing"]["items"], json::array({a}));
  EXPECT_EQ(dry["duplicates"]["count"], 1);
  EXPECT_EQ(dry["duplicates"]["items"][0]["assistantId"], b);
  EXPECT_EQ(dry["orphans"]["count"], 1);
  EXPECT_EQ(dry["orphans"]["items"][0]["assistantId"], gone);
  EXPECT_EQ(dry["foreign"], 2);
  EXPECT_EQ(dry["matched"], 2);
  EXPECT_EQ(dry["drift"]["count"], 0);
  EXPECT_EQ(dry["actions"], (json{{"requeued", 0}, {"deleted", 0}, {"driftRequeued", 0}}));
  EXPECT_EQ(SimState(), before);                     // a dry run changes nothing remotely
  EXPECT_EQ(SyncStatus(a)["syncStatus"], "synced");  // nor locally

  const auto real = Reconcile(json::object());
  EXPECT_EQ(real["missing"]["count"], 1) << real.dump();
  EXPECT_EQ(real["actions"]["deleted"], 2);
  EXPECT_EQ(real["actions"]["requeued"], 1);
  const auto s = WaitSynced(a);
  EXPECT_NE(s["vapiId"], a_vapi);
  WaitOneCopyEach({a, b, c});
  const auto copies = RemoteCopies();
  EXPECT_FALSE(copies.contains(gone));
  EXPECT_EQ(SimState().size(), 5u);  // ours (3), staging's and the hand-made one

  const auto again = Reconcile(json::object());
  EXPECT_EQ(again["matched"], 3) << again.dump();
  for (const char* finding : {"missing", "orphans", "duplicates", "drift"}) {
    EXPECT_EQ(again[finding]["count"], 0) << finding;
  }
}

TEST_F(ReconcileTest, ReportsDriftAndUndoesItOnlyWhenAsked) {
  const auto a = CreateSynced("Local name");
  const std::string vapi_id = SyncStatus(a)["vapiId"];
  ASSERT_EQ(Remote("PATCH", "/assistant/" + vapi_id, {{"name", "Renamed in the dashboard"}}).status,
            200);

  const auto report = Reconcile(json::object());
  ASSERT_EQ(report["drift"]["count"], 1) << report.dump();
  EXPECT_EQ(report["drift"]["items"][0],
            (json{{"assistantId", a}, {"vapiId", vapi_id}, {"fields", {"name"}}}));
  EXPECT_EQ(report["actions"]["driftRequeued"], 0);
  EXPECT_EQ(SimState()[0]["name"], "Renamed in the dashboard");

  const auto repair = Reconcile({{"repairDrift", true}});
  EXPECT_EQ(repair["actions"]["driftRequeued"], 1) << repair.dump();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (SimState()[0]["name"] != "Local name" && std::chrono::steady_clock::now() < deadline) {
    Pause();
  }
  EXPECT_EQ(SimState()[0]["name"], "Local name");
  EXPECT_EQ(SimState()[0]["id"], vapi_id);  // repaired in place, not re-created
}

TEST_F(ReconcileTest, AnUnknownCreateOutcomeLeftDeadIsCleanedUpByReconciliation) {
  // One attempt only: the create is stored by "Vapi", answered 500, and the job dies with the
  // remote copy unrecorded.
  server_.reset();
  server_ = StartServer("vk", "", {{"--sync-max-attempts", "1"}});
  Faults({{"commitThenFailRate", 1}});
  const std::string id = Create({{"name", "Ghost"}})["id"];
  WaitSync(id, [](const json& s) { return s["syncStatus"] == "failed"; });
  Faults({{"commitThenFailRate", 0}});
  ASSERT_EQ(SimState().size(), 1u);
  const std::string ghost = SimState()[0]["id"];

  const auto report = Reconcile(json::object());
  EXPECT_EQ(report["duplicates"]["count"], 1) << report.dump();
  EXPECT_EQ(report["missing"]["count"], 1);
  const auto s = WaitSynced(id);
  WaitOneCopyEach({id});
  EXPECT_NE(s["vapiId"], ghost);
}

TEST_F(ReconcileTest, IsForAdminsAndRefusesBadOptions) {
  EXPECT_EQ(api_->Call("POST", "/v1/admin/reconcile", token_, "{}").status, 403);
  for (const char* body : {R"({"dryRun":"yes"})", R"({"force":true})", "[]", "{"}) {
    const auto r = api_->Call("POST", "/v1/admin/reconcile", Admin(), body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_TRUE(r.Json()["error"].is_object()) << r.body;
  }
  const auto empty = api_->Call("POST", "/v1/admin/reconcile", Admin(), "");
  EXPECT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.Json()["dryRun"], false);
}

TEST_F(ReconcileTest, PeriodicRunsRecreateACopyDeletedOutOfBand) {
  server_.reset();
  server_ = StartServer("vk", "", {{"--reconcile-interval", "1s"}});
  const auto a = CreateSynced("Watched");
  const std::string vapi_id = SyncStatus(a)["vapiId"];
  ASSERT_EQ(Remote("DELETE", "/assistant/" + vapi_id).status, 200);
  const auto s = WaitSync(
      a, [&](const json& x) { return x["syncStatus"] == "synced" && x["vapiId"] != vapi_id; });
  EXPECT_NE(s["vapiId"], vapi_id);
  WaitOneCopyEach({a});
  EXPECT_TRUE(server_->WaitForLog("reconciliation finished"));
}

TEST_F(ReconcileTest, TheCommandReportsThenRepairsWithTheServerStopped) {
  const auto a = CreateSynced("Offline repair");
  const std::string vapi_id = SyncStatus(a)["vapiId"];
  ASSERT_EQ(server_->Stop(), 0);
  ASSERT_EQ(Remote("DELETE", "/assistant/" + vapi_id).status, 200);
  std::vector<std::string> base = {
      AssistantdBinary(), "reconcile",
      "--data-dir",       dir_.path(),
      "--log-level",      "warn",
      "--vapi-base-url",  "http://127.0.0.1:" + std::to_string(sim_->port())};
  for (const auto& arg : DatabaseArgs(dir_.path())) base.push_back(arg);
  auto dry_args = base;
  dry_args.push_back("--dry-run");
  const auto dry = RunCommand(dry_args, {{"VAPI_API_KEY", "vk"}});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(json::parse(dry.out)["missing"]["items"], json::array({a}));
  EXPECT_TRUE(SimState().empty());

  const auto real = RunCommand(base, {{"VAPI_API_KEY", "vk"}});
  ASSERT_EQ(real.exit_code, 0) << real.err;
  const auto summary = json::parse(real.out);
  EXPECT_EQ(summary["actions"]["requeued"], 1);
  EXPECT_GE(summary["jobsRun"], 1);
  EXPECT_EQ(summary["jobsLeftQueued"], 0);
  const auto state = SimState();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0]["metadata"]["assistantdId"], a);

  // A key that Vapi refuses: the summary says the check is incomplete, exit code 2.
  const auto refused = RunCommand(base, {{"VAPI_API_KEY", "not-a-key"}});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_EQ(json::parse(refused.out)["complete"], false);
  EXPECT_EQ(refused.out.find("not-a-key"), std::string::npos);
  EXPECT_EQ(refused.err.find("not-a-key"), std::string::npos);
}

TEST_F(ReconcileTest, TheCommandRunsOnARunningServerThroughItsAdminApi) {
  const auto a = CreateSynced("Remote repair");
  const std::string vapi_id = SyncStatus(a)["vapiId"];
  ASSERT_EQ(Remote("DELETE", "/assistant/" + vapi_id).status, 200);
  const std::string url = "http://127.0.0.1:" + std::to_string(server_->port());
  const std::string admin = Admin();
  // The credential comes from the environment; no database or Vapi option is needed here.
  const auto dry = RunCommand({AssistantdBinary(), "reconcile", "--url", url, "--dry-run"},
                              {{"ASSISTANTD_TOKEN", admin}});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const auto report = json::parse(dry.out);
  EXPECT_EQ(report["dryRun"], true);
  EXPECT_EQ(report["missing"]["items"], json::array({a}));
  EXPECT_TRUE(SimState().empty());

  const auto real =
      RunCommand({AssistantdBinary(), "reconcile", "--url", url + "/", "--token", admin});
  ASSERT_EQ(real.exit_code, 0) << real.err;
  EXPECT_EQ(json::parse(real.out)["actions"]["requeued"], 1);
  WaitOneCopyEach({a});

  // A user's token is refused by the server, and the CLI says so without echoing it.
  const auto user = RunCommand({AssistantdBinary(), "reconcile", "--url", url, "--token", token_});
  EXPECT_EQ(user.exit_code, 1);
  EXPECT_NE(user.err.find("HTTP 403"), std::string::npos) << user.err;
  EXPECT_EQ(user.err.find(token_), std::string::npos);
  EXPECT_TRUE(user.out.empty()) << user.out;
  // Neither credential, or both: a usage error before anything is sent.
  const auto none = RunCommand({AssistantdBinary(), "reconcile", "--url", url});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("give one of --service-key and --token"), std::string::npos) << none.err;
  // Nothing listening: exit 1, named.
  ASSERT_EQ(server_->Stop(), 0);
  const auto down = RunCommand({AssistantdBinary(), "reconcile", "--url", url, "--token", admin});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("could not reach " + url), std::string::npos) << down.err;
}

}  // namespace
}  // namespace assistantd::testing
