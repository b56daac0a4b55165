// Schema versions across releases (docs/deploy.md, "Upgrades"): `migrate --status` reports
// without changing anything and answers deploy scripts by exit code; a release runs on a
// schema a newer release expanded and refuses one a newer release contracted beyond what it
// reads. A newer release is played by rows it would have written into schema_migrations.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/uuid.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {
namespace {

using json = nlohmann::json;

class SchemaVersionTest : public ::testing::Test {
 protected:
  CommandResult Assistantd(std::vector<std::string> args) {
    args.insert(args.begin(), AssistantdBinary());
    args.insert(args.end(), {"--data-dir", dir_.path(), "--log-level", "warn"});
    const auto db = DatabaseArgs(dir_.path());
    args.insert(args.end(), db.begin(), db.end());
    return RunCommand(args);
  }
  json Status(int expected_exit) {
    const auto r = Assistantd({"migrate", "--status"});
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return json::parse(r.out);
  }
  // What a later release would have recorded after applying migration `version`.
  void RecordFutureMigration(int version, int min_reader_version) {
    const auto r = RunSql(dir_.path(),
                          "INSERT INTO schema_migrations (version, name, applied_at, "
                          "min_reader_version) VALUES (" +
                              std::to_string(version) + ", 'future_" + std::to_string(version) +
                              "', " + (TestingPostgres() ? "now()" : "1") + ", " +
                              std::to_string(min_reader_version) + ")");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  TempDir dir_;
};

TEST_F(SchemaVersionTest, StatusReportsPendingMigrationsWithoutApplyingThem) {
  const auto before = Status(2);
  EXPECT_EQ(before["state"], "pending");
  EXPECT_EQ(before["appliedVersion"], 0);
  const int known = before["knownVersion"];
  ASSERT_GT(known, 0);
  EXPECT_EQ(before["pending"].size(), static_cast<size_t>(known));
  EXPECT_EQ(Status(2)["appliedVersion"], 0) << "--status must not migrate";

  ASSERT_EQ(Assistantd({"migrate"}).exit_code, 0);
  const auto after = Status(0);
  EXPECT_EQ(after["state"], "up_to_date");
  EXPECT_EQ(after["appliedVersion"], known);
  EXPECT_TRUE(after["pending"].empty());
  EXPECT_TRUE(after["newer"].empty());
}

TEST_F(SchemaVersionTest, RunsOnASchemaANewerReleaseExpanded) {
  ASSERT_EQ(Assistantd({"migrate"}).exit_code, 0);
  const int known = Status(0)["knownVersion"];
  RecordFutureMigration(known + 1, 0);

  const auto s = Status(0);
  EXPECT_EQ(s["state"], "newer_compatible");
  EXPECT_EQ(s["appliedVersion"], known + 1);
  ASSERT_EQ(s["newer"].size(), 1u);
  EXPECT_EQ(s["newer"][0]["version"], known + 1);

  auto server = ServerProcess::Start({.data_dir = dir_.path()});
  EXPECT_TRUE(server->WaitForLog("newer than this release"));
  HttpClient http(server->port());
  EXPECT_EQ(http.Send("GET", "/readyz").status, 200);
  const auto created = http.Call("POST", "/v1/assistants", server->Token(NewUuid()),
                                 R"({"name":"on a newer schema"})");
  EXPECT_EQ(created.status, 201) << created.body;
}

TEST_F(SchemaVersionTest, RefusesASchemaANewerReleaseContracted) {
  ASSERT_EQ(Assistantd({"migrate"}).exit_code, 0);
  const int known = Status(0)["knownVersion"];
  RecordFutureMigration(known + 1, 0);
  RecordFutureMigration(known + 2, known + 2);

  const auto s = Status(1);
  EXPECT_EQ(s["state"], "too_new");
  EXPECT_EQ(s["requiredReaderVersion"], known + 2);

  const auto migrate = Assistantd({"migrate"});
  EXPECT_EQ(migrate.exit_code, 1);
  EXPECT_NE(
      migrate.err.find("needs a release that knows schema version " + std::to_string(known + 2)),
      std::string::npos)
      << migrate.err;
  // serve refuses at start, before it listens (timeout only guards a hang).
  std::vector<std::string> serve = {
      "/usr/bin/timeout", "60",          AssistantdBinary(), "serve",
      "--listen",         "127.0.0.1:0", "--data-dir",       dir_.path()};
  const auto db = DatabaseArgs(dir_.path());
  serve.insert(serve.end(), db.begin(), db.end());
  const auto r = RunCommand(serve);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("this binary knows " + std::to_string(known)), std::string::npos) << r.err;
}

}  // namespace
}  // namespace assistantd::testing
