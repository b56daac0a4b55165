// Deployment profiles (docs/deploy.md, "Staging and production"): check-config names unsafe
// settings; serve --profile production refuses them and test-role tokens; a database serves
// one profile, so staging and production never share data.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/uuid.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {
namespace {

const std::string kSecret(40, 's');
const std::string kMasterKey(64, 'a');

class ProfileTest : public ::testing::Test {
 protected:
  // Settings production accepts (on PostgreSQL with a warning: limits not shared, no Redis).
  std::vector<std::string> Safe() const {
    std::vector<std::string> a = {"--profile",
                                  "production",
                                  "--public-url",
                                  "https://api.example.com",
                                  "--trusted-proxies",
                                  "127.0.0.1",
                                  "--require-email-confirmation",
                                  "--jwt-secret",
                                  kSecret,
                                  "--master-key",
                                  kMasterKey,
                                  "--sync-workers",
                                  "0"};
    return a;
  }
  CommandResult Run(const std::string& command, std::vector<std::string> args) {
    args.insert(args.begin(),
                {AssistantdBinary(), command, "--data-dir", dir_.path(), "--log-level", "warn"});
    const auto db = DatabaseArgs(dir_.path());
    args.insert(args.end(), db.begin(), db.end());
    if (command == "serve") {
      args.insert(args.end(), {"--listen", "127.0.0.1:0"});
      args.insert(args.begin(), {"/usr/bin/timeout", "60"});  // guards a hang only
    }
    return RunCommand(args);
  }
  std::string Mint(const std::string& role) {
    const auto r = RunCommand({AssistantdBinary(), "token", "--data-dir", dir_.path(),
                               "--jwt-secret", kSecret, "--sub", NewUuid(), "--role", role});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  std::unique_ptr<ServerProcess> Start(std::vector<std::string> args) {
    return ServerProcess::Start({.args = std::move(args), .data_dir = dir_.path()});
  }
  TempDir dir_;
};

TEST_F(ProfileTest, CheckConfigNamesUnsafeProductionSettings) {
  const auto unsafe =
      Run("check-config", {"--profile", "production", "--vapi-base-url", "http://127.0.0.1:9",
                           "--listen", "203.0.113.7:8080", "--public-url", "http://x.example"});
  EXPECT_EQ(unsafe.exit_code, 1) << unsafe.out;
  for (const char* code :
       {"insecure_vapi", "public_listener", "insecure_public_url", "open_signup"}) {
    EXPECT_NE(unsafe.out.find(code), std::string::npos) << code << "\n" << unsafe.out;
  }
  if (TestingPostgres()) {
    // Several instances: secrets generated per data dir would split the fleet.
    EXPECT_NE(unsafe.out.find("error   generated_secret"), std::string::npos) << unsafe.out;
    EXPECT_NE(unsafe.out.find("error   generated_master_key"), std::string::npos) << unsafe.out;
  }
  EXPECT_NE(unsafe.out.find("serve --profile production refuses to start"), std::string::npos);

  // Staging reports the same settings as warnings and passes.
  const auto staging =
      Run("check-config", {"--profile", "staging", "--vapi-base-url", "http://127.0.0.1:9"});
  EXPECT_EQ(staging.exit_code, 0) << staging.out;
  EXPECT_NE(staging.out.find("warning insecure_vapi"), std::string::npos) << staging.out;

  const auto safe = Run("check-config", Safe());
  EXPECT_EQ(safe.exit_code, 0) << safe.out;
  EXPECT_NE(safe.out.find(": 0 error(s)"), std::string::npos) << safe.out;

  const auto bad = Run("check-config", {"--profile", "prod"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--profile must be production, staging or development"),
            std::string::npos);
}

TEST_F(ProfileTest, ProductionRefusesUnsafeSettingsAndTestAccounts) {
  auto unsafe = Safe();
  unsafe.insert(unsafe.end(), {"--vapi-base-url", "http://127.0.0.1:9"});
  const auto refused = Run("serve", unsafe);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--profile production refuses these settings"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("[insecure_vapi]"), std::string::npos) << refused.err;

  auto server = Start(Safe());
  HttpClient http(server->port());
  EXPECT_EQ(http.Call("GET", "/v1/assistants", Mint("user")).status, 200);
  const auto test_role = http.Call("GET", "/v1/assistants", Mint("test"));
  EXPECT_EQ(test_role.status, 403) << test_role.body;
  EXPECT_EQ(test_role.Json()["error"]["code"], "test_role_disabled") << test_role.body;
  ASSERT_EQ(server->Stop(), 0);

  auto allowing = Safe();
  allowing.push_back("--allow-test-role");
  server = Start(allowing);
  HttpClient again(server->port());
  EXPECT_EQ(again.Call("GET", "/v1/assistants", Mint("test")).status, 200);
}

TEST_F(ProfileTest, ADatabaseServesOneProfile) {
  auto production = Start(Safe());
  ASSERT_EQ(production->Stop(), 0);

  auto staging = Safe();
  staging[1] = "staging";
  const auto refused = Run("serve", staging);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("serves the production deployment; a staging server refuses it"),
            std::string::npos)
      << refused.err;
  // The production server keeps its database.
  auto back = Start(Safe());
  HttpClient http(back->port());
  EXPECT_EQ(http.Send("GET", "/readyz").status, 200);
}

}  // namespace
}  // namespace assistantd::testing
