// PostgreSQL going away while assistantd serves: requests and /readyz answer 503 with the
// one error shape, nothing hangs, and service resumes by itself once the database is back.
#include <gtest/gtest.h>

#include <cstdlib>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

class PgOutageTest : public SyncTest {
 protected:
  // Runs SQL on the test cluster as its superuser.
  void Admin(const std::string& sql) {
    const auto r = RunCommand({"/usr/bin/psql", "-XAtq", std::getenv("ASSISTANTD_TEST_PG_URL"),
                               "-v", "ON_ERROR_STOP=1", "-c", sql});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string DatabaseName() {
    const std::string url = DatabaseArgs(dir_.path())[1];
    return url.substr(url.rfind('/') + 1);
  }
};

TEST_F(PgOutageTest, ADatabaseOutageIs503ThenRecoversByItself) {
  ASSERT_TRUE(TestingPostgres()) << "this suite needs ASSISTANTD_TEST_BACKEND=postgres";
  const std::string id = Create({{"name", "Survivor"}})["id"];
  const std::string path = "/v1/assistants/" + id;
  ASSERT_EQ(api_->Call("GET", path, token_).status, 200);

  // The outage: no new connections, and every open one cut (as a restart does).
  const std::string db = DatabaseName();
  Admin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false");
  Admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "'");
  const auto ready = api_->Send("GET", "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  for (int i = 0; i < 3; ++i) {
    const auto r = api_->Call("GET", path, token_);
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "storage_unavailable") << r.body;
    EXPECT_EQ(r.body.find("postgres://"), std::string::npos);
  }
  const auto write = api_->Call("PATCH", path, token_, R"({"name":"Lost?"})");
  EXPECT_EQ(write.status, 503) << write.body;

  // Back: the pool reconnects on next use, with no restart of assistantd.
  Admin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true");
  EXPECT_EQ(api_->Send("GET", "/readyz").status, 200);
  const auto after = api_->Call("GET", path, token_);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.Json()["name"], "Survivor");  // the refused write changed nothing
  EXPECT_EQ(api_->Call("PATCH", path, token_, R"({"name":"Back"})").status, 200);
}

}  // namespace
}  // namespace assistantd::testing
