// Changing the master key that seals stored Vapi keys and the keys queued sync jobs carry:
// `keys rotate-master` for the key file in the data dir, `keys reseal` with
// --accepted-master-key for a configured key across instances. After each, the values open
// under the new key alone (a job syncs with its key, the stored key reads as usable); a value
// that opens with none of the keys given stops the reseal before anything changes; a stale
// master key shows as configured but not usable.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kJobKey = "job-key-5b1e0d";

class MasterKeyTest : public SyncTest {
 protected:
  // A simulator that also knows the key a job carries, so a job synced proves its own
  // key opened (the stored key is another one).
  void SetUp() override {
    SyncTest::SetUp();
    server_.reset();
    sim_ = ServerProcess::StartVapiSim({"--api-key", kStoredKey, "--api-key", kJobKey});
    control_ = std::make_unique<HttpClient>(sim_->port());
  }
  CommandResult Keys(std::vector<std::string> args) {
    args.insert(args.begin(), {AssistantdBinary(), "keys"});
    args.insert(args.end(), {"--data-dir", dir_.path(), "--log-level", "warn"});
    const auto db = DatabaseArgs(dir_.path());
    args.insert(args.end(), db.begin(), db.end());
    return RunCommand(args);
  }
  std::string ReadKeyFile(const std::string& name) {
    std::ifstream in(dir_.path() + "/" + name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  json KeyView() { return api_->Call("GET", "/v1/config/vapi-key", token_).Json(); }
  // A stored key for the user and a queued job carrying its own key (no workers run).
  std::string StoreBothKinds(const std::map<std::string, std::string>& flags = {}) {
    auto overrides = flags;
    overrides["--sync-workers"] = "0";
    server_ = StartServer("", "", overrides);
    EXPECT_EQ(api_->Call("PUT", "/v1/config/vapi-key", token_, json{{"apiKey", kStoredKey}}.dump())
                  .status,
              200);
    const auto r = api_->Call("POST", "/v1/assistants", token_, R"({"name":"Sealed job key"})",
                              {{"X-Vapi-API-Key", kJobKey}});
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(server_->Stop(), 0);
    return r.Json()["id"];
  }
  static std::string Hex(char c) { return std::string(64, c); }
};

TEST_F(MasterKeyTest, RotateMasterResealsEverythingUnderANewKeyFile) {
  const std::string id = StoreBothKinds();
  const std::string old_key = ReadKeyFile("master-key");

  const auto rotated = Keys({"rotate-master"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  const auto out = json::parse(rotated.out);
  EXPECT_EQ(out["resealed"]["stored"], 1);
  EXPECT_EQ(out["resealed"]["jobs"], 1);
  EXPECT_NE(ReadKeyFile("master-key"), old_key);
  EXPECT_EQ(ReadKeyFile("master-key.previous"), old_key);
  EXPECT_EQ(fs::status(dir_.path() + "/master-key").permissions() & fs::perms::others_all,
            fs::perms::none);

  // Under the new key alone: the job syncs with its own key, the stored key is usable.
  fs::remove(dir_.path() + "/master-key.previous");
  server_ = StartServer("");
  WaitSync(id, [](const json& s) { return s["syncStatus"] == "synced"; });
  EXPECT_EQ(server_->Logs().find("does not open with the master key"), std::string::npos)
      << server_->Logs();
  EXPECT_EQ(KeyView()["usable"], true);
  // The rotation is in the audit log (its counts, no key material).
  const auto audit = api_->Call("GET", "/v1/admin/audit?action=master_key.rotate",
                                server_->Token(NewUuid(), "admin"));
  ASSERT_EQ(audit.status, 200) << audit.body;
  ASSERT_EQ(audit.Json()["data"].size(), 1u) << audit.body;
  EXPECT_EQ(audit.Json()["data"][0]["after"]["stored"], 1);
  EXPECT_EQ(audit.body.find(old_key), std::string::npos);
  ASSERT_EQ(server_->Stop(), 0);

  // Rotating again replaces master-key.previous: allowed, everything is under the current key.
  std::ofstream(dir_.path() + "/master-key.previous") << old_key;
  const auto again = Keys({"rotate-master"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["resealed"]["stored"], 1);

  // A configured master key is not the file's to rotate.
  const auto refused = Keys({"rotate-master", "--master-key", Hex('a')});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--accepted-master-key"), std::string::npos) << refused.err;
}

TEST_F(MasterKeyTest, ResealMovesAFleetToANewConfiguredKey) {
  StoreBothKinds({{"--master-key", Hex('a')}});

  // A stale master key: the stored key is configured but unusable, and says so.
  server_ = StartServer("", "", {{"--master-key", Hex('b')}, {"--sync-workers", "0"}});
  EXPECT_EQ(KeyView()["configured"], true);
  EXPECT_EQ(KeyView()["usable"], false);
  ASSERT_EQ(server_->Stop(), 0);

  // Instances run with the new key and accept the old one; then the values are resealed.
  server_ = StartServer(
      "", "",
      {{"--master-key", Hex('b')}, {"--accepted-master-key", Hex('a')}, {"--sync-workers", "0"}});
  EXPECT_EQ(KeyView()["usable"], true);
  const auto resealed =
      Keys({"reseal", "--master-key", Hex('b'), "--accepted-master-key", Hex('a')});
  ASSERT_EQ(resealed.exit_code, 0) << resealed.err;
  EXPECT_EQ(json::parse(resealed.out)["resealed"]["stored"], 1);
  EXPECT_EQ(json::parse(resealed.out)["resealed"]["jobs"], 1);
  ASSERT_EQ(server_->Stop(), 0);

  // The old key dropped: everything opens under the new one alone.
  server_ = StartServer("", "", {{"--master-key", Hex('b')}});
  EXPECT_EQ(KeyView()["usable"], true);
  const auto jobs = api_->Call("GET", "/v1/assistants", token_).Json()["data"];
  ASSERT_EQ(jobs.size(), 1u);
  WaitSync(jobs[0]["id"], [](const json& s) { return s["syncStatus"] == "synced"; });
  EXPECT_EQ(server_->Logs().find("does not open with the master key"), std::string::npos)
      << server_->Logs();
  ASSERT_EQ(server_->Stop(), 0);

  // A key that opens nothing stored: refused, nothing changed.
  const auto wrong = Keys({"reseal", "--master-key", Hex('c')});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("opens with none of the master keys"), std::string::npos) << wrong.err;
  server_ = StartServer("", "", {{"--master-key", Hex('b')}});
  EXPECT_EQ(KeyView()["usable"], true);
}

}  // namespace
}  // namespace assistantd::testing
