// `assistantd smoke` against the real server syncing to vapi-sim: it passes against a fresh
// deploy (leaving nothing behind: no user, no assistant, nothing in Vapi) and fails loudly,
// with exit code 1 and the failing check named, against broken ones.
#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

constexpr const char* kServiceKey = "sb_secret_smoke0test0key0abcdefghij";

class SmokeTest : public SyncTest {
 protected:
  void SetUp() override {
    SyncTest::SetUp();
    server_.reset();
    server_ = StartServer("vk", "", {{"--secret-key", kServiceKey}});
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  CommandResult Smoke(std::vector<std::string> args,
                      const std::map<std::string, std::string>& env = {
                          {"ASSISTANTD_SMOKE_SERVICE_KEY", kServiceKey}}) {
    args.insert(args.begin(), {AssistantdBinary(), "smoke", "--url", Url()});
    return RunCommand(args, env);
  }
  size_t UsersNamed(const std::string& part) {
    const auto r = api_->Send(
        "GET", "/auth/v1/admin/users?per_page=1000", "",
        {{"apikey", kServiceKey}, {"Authorization", std::string("Bearer ") + kServiceKey}});
    EXPECT_EQ(r.status, 200) << r.body;
    size_t n = 0;
    for (const auto& u : r.Json()["users"]) {
      n += u.value("email", "").find(part) != std::string::npos ? 1 : 0;
    }
    return n;
  }
};

TEST_F(SmokeTest, PassesAgainstAFreshDeployAndLeavesNothingBehind) {
  const auto r = Smoke({"--expect-sync"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok    create (synced to Vapi)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok    delete (removed from Vapi)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok    metrics"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("smoke: passed, 13 checks"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kServiceKey), std::string::npos) << "the key must not be printed";
  EXPECT_TRUE(SimState().empty()) << SimState().dump();
  EXPECT_EQ(UsersNamed("@smoke.assistantd.invalid"), 0u);
}

TEST_F(SmokeTest, PassesWithAUserTokenAndNoMetrics) {
  const auto r = Smoke({"--metrics-url", "off"}, {{"ASSISTANTD_SMOKE_TOKEN", token_}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("create user"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("metrics"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("smoke: passed, 9 checks"), std::string::npos) << r.out;
  const auto left = api_->Call("GET", "/v1/assistants", token_);
  EXPECT_TRUE(left.Json()["data"].empty()) << left.body;
}

TEST_F(SmokeTest, FailsLoudlyWhenVapiRefusesTheServersKey) {
  server_.reset();
  server_ = StartServer("wrong-key", "", {{"--secret-key", kServiceKey}});
  const auto r = Smoke({"--expect-sync"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL  create (synced to Vapi)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("syncStatus failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("smoke: FAILED at create (synced to Vapi)"), std::string::npos) << r.out;
  // The throwaway user goes even so, and its assistant with it.
  EXPECT_NE(r.out.find("ok    remove user"), std::string::npos) << r.out;
  EXPECT_EQ(UsersNamed("@smoke.assistantd.invalid"), 0u);
}

TEST_F(SmokeTest, FailsLoudlyWithAWrongKeyOrNoServer) {
  const auto wrong =
      Smoke({}, {{"ASSISTANTD_SMOKE_SERVICE_KEY", "sb_secret_not0the0right0key0at0all"}});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
  EXPECT_NE(wrong.out.find("FAIL  create user"), std::string::npos) << wrong.out;
  EXPECT_NE(wrong.out.find("invalid_api_key"), std::string::npos) << wrong.out;

  const std::string url = Url();
  server_.reset();  // nothing listens there any more
  const auto down = RunCommand({AssistantdBinary(), "smoke", "--url", url, "--token", "t"});
  EXPECT_EQ(down.exit_code, 1) << down.out;
  EXPECT_NE(down.out.find("FAIL  healthz"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("smoke: FAILED at healthz"), std::string::npos) << down.out;

  const auto usage = RunCommand({AssistantdBinary(), "smoke", "--url", "ftp://x", "--token", "t"});
  EXPECT_EQ(usage.exit_code, 1);
  EXPECT_NE(usage.err.find("--url must start with http"), std::string::npos) << usage.err;
}

}  // namespace
}  // namespace assistantd::testing
