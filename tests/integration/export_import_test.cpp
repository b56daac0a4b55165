// `assistantd export` / `import` between the two backends: SQLite → PostgreSQL and back out,
// the data compared line by line; the imported database serves the same assistants and
// keeps the installation id, so reconciliation still recognises every remote copy.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class ExportImportTest : public SyncTest {
 protected:
  // A fresh PostgreSQL database of its own (a data dir name picks it).
  std::string PostgresUrl(const std::string& name) { return DatabaseArgs(dir_.path() + name)[1]; }
  CommandResult Assistantd(std::vector<std::string> args) {
    args.insert(args.begin(), AssistantdBinary());
    args.insert(args.end(), {"--data-dir", dir_.path(), "--log-level", "warn"});
    return RunCommand(args);
  }
};

TEST_F(ExportImportTest, SqliteToPostgresRoundTripKeepsEveryRecord) {
  ASSERT_TRUE(TestingPostgres()) << "this suite needs ASSISTANTD_TEST_BACKEND=postgres";
  // Data on SQLite, synced to vapi-sim: two users, a stored key, varied fields, a deletion.
  server_.reset();
  ServerProcess::Options o;
  o.args = {"--vapi-base-url",        "http://127.0.0.1:" + std::to_string(sim_->port()),
            "--sync-backoff-base-ms", "20",
            "--sync-backoff-cap-ms",  "200"};
  o.env["VAPI_API_KEY"] = "vk";
  o.data_dir = dir_.path();
  o.database_url = "sqlite:" + dir_.path() + "/assistantd.db";
  server_.reset();
  server_ = ServerProcess::Start(o);
  api_ = std::make_unique<HttpClient>(server_->port());
  const std::string bob = NewUuid();
  const std::string bob_token = server_->Token(bob);
  ASSERT_EQ(
      api_->Call("PUT", "/v1/config/vapi-key", token_, json{{"apiKey", kStoredKey}}.dump()).status,
      200);
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    const json body = {
        {"name", "n" + std::to_string(i)},
        {"maxDurationSeconds", 60 + i},
        {"silenceTimeoutSeconds", 12.5},
        {"model", {{"provider", "openai"}, {"model", "gpt-4o"}, {"temperature", 0.3}}},
        {"metadata", {{"is_test", i % 4 == 0}, {"team", "t"}}}};
    const auto r = api_->Call("POST", "/v1/assistants", i % 3 ? token_ : bob_token, body.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.Json()["id"]);
  }
  ASSERT_EQ(
      api_->Call("DELETE", "/v1/assistants/" + ids[1], token_, "", {{"Prefer", "wait=10"}}).status,
      200);
  const std::string alice_token = token_;
  for (size_t i = 0; i < ids.size(); ++i) {
    token_ = i % 3 ? alice_token : bob_token;  // SyncStatus() reads as the owner
    if (i != 1) WaitSynced(ids[i]);
  }
  token_ = alice_token;
  // A password account with metadata and a profile travels whole.
  const auto carol = api_->Send(
      "POST", "/auth/v1/signup",
      R"({"email":"carol@example.com","password":"carol's password","data":{"team":"blue"}})",
      {{"Content-Type", "application/json"}});
  ASSERT_EQ(carol.status, 200) << carol.body;
  ASSERT_EQ(api_->Call("PATCH", "/v1/profile", carol.Json()["access_token"],
                       R"({"displayName":"Carol","preferences":{"timezone":"Europe/Paris"}})")
                .status,
            200);
  ASSERT_EQ(server_->Stop(), 0);

  const std::string e1 = dir_.path() + "/sqlite.jsonl";
  const std::string e2 = dir_.path() + "/postgres.jsonl";
  const auto exported = Assistantd({"export", "-o", e1});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string pg = PostgresUrl("/pg");
  const auto imported = Assistantd({"import", e1, "--database-url", pg});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.err.find(R"("assistants":11)"), std::string::npos) << imported.err;
  const auto again = Assistantd({"export", "--database-url", pg, "-o", e2});
  ASSERT_EQ(again.exit_code, 0) << again.err;

  // Identical but for the header's export time.
  auto a = Lines(e1);
  auto b = Lines(e2);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 15u);  // header, 4 users, 1 key, 11 assistants, end
  EXPECT_EQ(json::parse(a[0])["instanceId"], json::parse(b[0])["instanceId"]);
  a.erase(a.begin());
  b.erase(b.begin());
  EXPECT_EQ(a, b);

  // The PostgreSQL copy serves the same data, the stored key still opens (same master key),
  // and reconciliation recognises every remote copy as ours.
  ServerProcess::Options on_pg = o;
  on_pg.database_url = pg;
  server_.reset();
  server_ = ServerProcess::Start(on_pg);
  api_ = std::make_unique<HttpClient>(server_->port());
  const auto got = api_->Call("GET", "/v1/assistants/" + ids[2], token_);
  ASSERT_EQ(got.status, 200) << got.body;
  const auto signin = api_->Send("POST", "/auth/v1/token?grant_type=password",
                                 R"({"email":"carol@example.com","password":"carol's password"})",
                                 {{"Content-Type", "application/json"}});
  ASSERT_EQ(signin.status, 200) << signin.body;
  EXPECT_EQ(signin.Json()["user"]["user_metadata"]["team"], "blue");
  const auto profile = api_->Call("GET", "/v1/profile", signin.Json()["access_token"]);
  EXPECT_EQ(profile.Json()["displayName"], "Carol");
  EXPECT_EQ(profile.Json()["preferences"]["timezone"], "Europe/Paris");
  EXPECT_EQ(got.Json()["silenceTimeoutSeconds"], 12.5);
  EXPECT_EQ(got.Json()["syncStatus"], "synced");
  EXPECT_EQ(api_->Call("GET", "/v1/config/vapi-key", token_).Json()["masked"], "••••3a9c");
  EXPECT_EQ(api_->Call("GET", "/v1/assistants/" + ids[1], token_).status, 404);
  const auto report = api_->Call("POST", "/v1/admin/reconcile", server_->Token(NewUuid(), "admin"),
                                 R"({"dryRun":true})");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.Json()["matched"], 11) << report.body;
  EXPECT_EQ(report.Json()["foreign"], 0);
  EXPECT_EQ(report.Json()["missing"]["count"], 0);
  ASSERT_EQ(server_->Stop(), 0);

  // A second import into a database that has data is refused and changes nothing.
  const auto twice = Assistantd({"import", e1, "--database-url", pg});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("empty database"), std::string::npos) << twice.err;
}

TEST_F(ExportImportTest, ATruncatedOrForeignFileIsRefusedBeforeAnythingIsWritten) {
  ASSERT_TRUE(TestingPostgres()) << "this suite needs ASSISTANTD_TEST_BACKEND=postgres";
  Create({{"name", "One"}});
  server_.reset();
  const std::string full = dir_.path() + "/full.jsonl";
  ASSERT_EQ(
      Assistantd({"export", "-o", full, "--database-url", DatabaseArgs(dir_.path())[1]}).exit_code,
      0);
  auto lines = Lines(full);
  ASSERT_GE(lines.size(), 4u);
  const std::string cut = dir_.path() + "/cut.jsonl";
  {
    std::ofstream out(cut);
    for (size_t i = 0; i + 1 < lines.size(); ++i) out << lines[i] << '\n';  // no end record
  }
  const std::string other = dir_.path() + "/other.jsonl";
  std::ofstream(other) << R"({"format":"something-else","version":1})" << '\n';
  const std::string orphan = dir_.path() + "/orphan.jsonl";
  {
    std::ofstream out(orphan);
    for (const auto& line : lines) {
      if (line.find(R"("type":"user")") == std::string::npos) out << line << '\n';
    }
  }
  const std::string target = PostgresUrl("/target");
  for (const auto& [file, why] : {std::pair{cut, "truncated"},
                                  {other, "not an assistantd export"},
                                  {orphan, "owner is not among the users"}}) {
    const auto r = Assistantd({"import", file, "--database-url", target});
    EXPECT_EQ(r.exit_code, 1) << file;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  }
  const std::string after = dir_.path() + "/after.jsonl";
  ASSERT_EQ(Assistantd({"export", "--database-url", target, "-o", after}).exit_code, 0);
  EXPECT_EQ(json::parse(Lines(after).back())["counts"],
            (json{{"users", 0}, {"vapiKeys", 0}, {"assistants", 0}}));
}

}  // namespace
}  // namespace assistantd::testing
