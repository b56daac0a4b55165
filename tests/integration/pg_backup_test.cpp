// PostgreSQL backups as docs/operations.md tells an operator to take them: the schema's owner
// is an ordinary role (no superuser, no BYPASSRLS), forced row-level security hides every row
// from it, so a plain pg_dump fails; through the assistantd_backup role it dumps everything,
// and pg_restore into an empty database gives a service with the same data and a valid audit
// chain. The servers' stderr stays one JSON object per line although PostgreSQL sends notices.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/uuid.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

constexpr const char* kOwner = "it_backup_owner";

std::string AdminUrl() {
  const char* admin = std::getenv("ASSISTANTD_TEST_PG_URL");
  return admin ? admin : "";
}

CommandResult Psql(const std::string& url, const std::string& sql) {
  return RunCommand({"/usr/bin/psql", "-XAtq", "-v", "ON_ERROR_STOP=1", url, "-c", sql});
}

// The admin URL pointed at `database` as the owner role (libpq lets query parameters
// override the URL's user).
std::string OwnerUrl(const std::string& database) {
  const std::string admin = AdminUrl();
  std::string base = admin.substr(0, admin.rfind('/') + 1) + database;
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "user=" + kOwner +
         "&password=owner-pw";
}

void ExpectJsonLines(const std::string& logs) {
  std::istringstream in(logs);
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(json::accept(line)) << "not a JSON log line: " << line;
  }
}

TEST(PgBackupTest, OwnerDumpsThroughTheBackupRoleAndTheRestoreServesTheSameData) {
  ASSERT_TRUE(TestingPostgres()) << "this suite needs ASSISTANTD_TEST_BACKEND=postgres";
  // The least-privilege setup of docs/operations.md, run by the cluster's superuser.
  const std::string suffix = NewUuid().substr(0, 8);
  const std::string source = "itbk_src_" + suffix;
  const std::string target = "itbk_dst_" + suffix;
  const auto setup = Psql(AdminUrl(), std::string(R"(
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'assistantd_app') THEN
    CREATE ROLE assistantd_app NOLOGIN NOBYPASSRLS; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'assistantd_backup') THEN
    CREATE ROLE assistantd_backup NOLOGIN NOBYPASSRLS; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ')") +
                                          kOwner + R"(') THEN
    CREATE ROLE )" + kOwner + R"( LOGIN PASSWORD 'owner-pw' NOSUPERUSER NOBYPASSRLS; END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
GRANT assistantd_app, assistantd_backup TO )" +
                                          kOwner + ";");
  ASSERT_EQ(setup.exit_code, 0) << setup.err;
  for (const auto& db : {source, target}) {
    const auto created = Psql(AdminUrl(), "CREATE DATABASE " + db + " OWNER " + kOwner);
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }
  // A schema `auth` already there (as in a Supabase database): the migration's
  // CREATE SCHEMA IF NOT EXISTS makes PostgreSQL send a NOTICE.
  ASSERT_EQ(Psql(OwnerUrl(source), "CREATE SCHEMA auth").exit_code, 0);

  TempDir dir;
  ServerProcess::Options o;
  o.data_dir = dir.path();
  o.database_url = OwnerUrl(source);
  o.args = {"--sync-workers", "0"};  // rows as written: no sync outcome races the comparison
  auto server = ServerProcess::Start(o);
  HttpClient api(server->port());
  const std::string alice = server->Token(NewUuid());
  const std::string bob = server->Token(NewUuid());
  for (int i = 0; i < 6; ++i) {
    const auto r = api.Call("POST", "/v1/assistants", i % 2 ? alice : bob,
                            json{{"name", "a" + std::to_string(i)}}.dump());
    ASSERT_EQ(r.status, 201) << r.body;
  }
  const auto before_alice = api.Call("GET", "/v1/assistants", alice);
  const auto before_bob = api.Call("GET", "/v1/assistants", bob);
  ASSERT_EQ(before_alice.Json()["data"].size(), 3u);

  // While the server runs: the owner's plain dump stops at the first forced-RLS table…
  const std::string plain = dir.path() + "/plain.dump";
  const auto refused = RunCommand({"/usr/bin/pg_dump", "-Fc", "-f", plain, OwnerUrl(source)});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("row-level security"), std::string::npos) << refused.err;
  // …and the documented one reads every row.
  const std::string dump = dir.path() + "/assistantd.dump";
  const auto dumped = RunCommand({"/usr/bin/pg_dump", "-Fc", "--role=assistantd_backup",
                                  "--enable-row-security", "-f", dump, OwnerUrl(source)});
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  ASSERT_EQ(server->Stop(), 0);
  ExpectJsonLines(server->Logs());

  const auto restored = RunCommand(
      {"/usr/bin/pg_restore", "--no-owner", "--exit-on-error", "-d", OwnerUrl(target), dump});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  const auto verify = RunCommand({AssistantdBinary(), "audit", "verify", "--data-dir", dir.path(),
                                  "--database-url", OwnerUrl(target), "--log-level", "warn"});
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_GE(json::parse(verify.out)["entries"].get<int>(), 6) << verify.out;

  o.database_url = OwnerUrl(target);
  server = ServerProcess::Start(o);
  HttpClient restored_api(server->port());
  EXPECT_EQ(restored_api.Call("GET", "/v1/assistants", alice).Json(), before_alice.Json());
  EXPECT_EQ(restored_api.Call("GET", "/v1/assistants", bob).Json(), before_bob.Json());
  ASSERT_EQ(restored_api.Call("POST", "/v1/assistants", alice, R"({"name":"after"})").status, 201);
  ASSERT_EQ(server->Stop(), 0);
  ExpectJsonLines(server->Logs());
  for (const auto& db : {source, target}) Psql(AdminUrl(), "DROP DATABASE " + db);
}

}  // namespace
}  // namespace assistantd::testing
