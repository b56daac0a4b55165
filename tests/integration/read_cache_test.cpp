// The read cache of assistants by id (C13): every kind of committed change reaches it, so a
// read after an acknowledged write never serves the version before it. Both backends; the
// cross-instance case is in cache_coherence_test.cpp (PostgreSQL).
#include <gtest/gtest.h>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

// The value of the sample `series` (name and labels, as rendered) in a /metrics body; -1 if
// absent.
double Sample(const std::string& body, const std::string& series) {
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

class ReadCacheTest : public SyncTest {
 protected:
  HttpResult Read(const std::string& id, const std::string& token) {
    return api_->Call("GET", "/v1/assistants/" + id, token);
  }
  // Reads twice: the second read is served by the cache, so what the test checks next is
  // what the cache must have dropped.
  json Warm(const std::string& id, const std::string& token) {
    Read(id, token);
    const auto r = Read(id, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  double Hits() {
    return Sample(api_->Send("GET", "/metrics").body,
                  "assistantd_cache_lookups_total{result=\"hit\"}");
  }
};

TEST_F(ReadCacheTest, RepeatedReadsAreServedFromTheCacheWithTheSameEtag) {
  const auto a = Create({{"name", "hot"}});
  const std::string id = a["id"];
  const auto first = Read(id, token_);
  const double before = Hits();
  const auto second = Read(id, token_);
  EXPECT_EQ(Hits(), before + 1);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.Header("etag"), first.Header("etag"));
  // The cached row is checked against each caller's scope: another user still gets 404.
  const auto mallory = server_->Token(NewUuid());
  EXPECT_EQ(Read(id, mallory).status, 404);
  // A projection is rendered from the cached row.
  const auto projected = api_->Call("GET", "/v1/assistants/" + id + "?fields=name", token_);
  EXPECT_EQ(projected.Json(), json({{"name", "hot"}}));
}

TEST_F(ReadCacheTest, EveryKindOfWriteReachesTheCache) {
  const auto admin = server_->Token(NewUuid(), "admin");
  const auto a = Create({{"name", "v1"}});
  const std::string id = a["id"];

  // The sync outcome (written by the sync worker, not by a request).
  EXPECT_EQ(Warm(id, token_)["name"], "v1");
  WaitSynced(id);
  EXPECT_EQ(Read(id, token_).Json()["syncStatus"], "synced");

  // PATCH by the owner.
  Warm(id, token_);
  ASSERT_EQ(api_->Call("PATCH", "/v1/assistants/" + id, token_, R"({"name":"v2"})").status, 200);
  EXPECT_EQ(Read(id, token_).Json()["name"], "v2");

  // PATCH by an admin, read by the owner.
  Warm(id, token_);
  ASSERT_EQ(api_->Call("PATCH", "/v1/assistants/" + id, admin, R"({"name":"v3"})").status, 200);
  EXPECT_EQ(Read(id, token_).Json()["name"], "v3");

  // A sync that fails for good (the sync error and status come from the worker).
  WaitSynced(id);
  Warm(id, token_);
  Faults({{"failRate", 1}, {"failStatuses", {400}}});
  ASSERT_EQ(api_->Call("PATCH", "/v1/assistants/" + id, token_, R"({"name":"v4"})").status, 200);
  WaitSync(id, [](const json& s) { return s["syncStatus"] == "failed"; });
  const auto failed = Read(id, token_).Json();
  EXPECT_EQ(failed["syncStatus"], "failed");
  EXPECT_FALSE(failed["syncError"].is_null());

  // The retry trigger puts it back to pending.
  Faults({{"failRate", 0}});
  Warm(id, token_);
  ASSERT_EQ(api_->Call("POST", "/v1/assistants/" + id + "/sync", token_).status, 202);
  EXPECT_NE(Read(id, token_).Json()["syncStatus"], "failed");
  WaitSynced(id);

  // DELETE.
  Warm(id, token_);
  ASSERT_EQ(api_->Call("DELETE", "/v1/assistants/" + id, token_).status, 204);
  EXPECT_EQ(Read(id, token_).status, 404);

  // A user's deletion cascading to their assistants.
  const std::string bob = NewUuid();
  const auto bob_token = server_->Token(bob);
  const auto b = api_->Call("POST", "/v1/assistants", bob_token, R"({"name":"bob's"})").Json();
  const std::string bid = b["id"];
  Warm(bid, admin);
  ASSERT_EQ(api_->Call("DELETE", "/v1/admin/users/" + bob, admin).status, 204);
  EXPECT_EQ(Read(bid, admin).status, 404);
}

TEST_F(ReadCacheTest, TheCacheCanBeTurnedOff) {
  server_.reset();
  server_ = StartServer("vk", "", {{"--cache-size", "0"}});
  const auto a = Create({{"name", "uncached"}});
  const std::string id = a["id"];
  EXPECT_EQ(Warm(id, token_)["name"], "uncached");
  EXPECT_EQ(Hits(), -1) << "no cache, no cache metrics";
  ASSERT_EQ(api_->Call("PATCH", "/v1/assistants/" + id, token_, R"({"name":"b"})").status, 200);
  EXPECT_EQ(Read(id, token_).Json()["name"], "b");
}

// The SQLite cache sees this process's commits only, so one process at a time may write
// assistants there: a second writer (serve, reconcile) is refused while the server runs;
// reporting (reconcile --dry-run) is not. On PostgreSQL every writer notifies the caches.
TEST_F(ReadCacheTest, OnSqliteOneProcessAtATimeWritesAssistants) {
  std::vector<std::string> reconcile = {
      AssistantdBinary(), "reconcile",
      "--data-dir",       dir_.path(),
      "--log-level",      "warn",
      "--vapi-base-url",  "http://127.0.0.1:" + std::to_string(sim_->port()) + "/v1"};
  for (const auto& arg : DatabaseArgs(dir_.path())) reconcile.push_back(arg);
  auto dry = reconcile;
  dry.push_back("--dry-run");
  EXPECT_EQ(RunCommand(dry, {{"VAPI_API_KEY", "vk"}}).exit_code, 0);
  const auto real = RunCommand(reconcile, {{"VAPI_API_KEY", "vk"}});
  if (TestingPostgres()) {
    EXPECT_EQ(real.exit_code, 0) << real.err;
    return;
  }
  EXPECT_NE(real.exit_code, 0);
  EXPECT_NE(real.err.find("another assistantd process"), std::string::npos) << real.err;
  EXPECT_THROW(StartServer("vk"), std::exception) << "a second server on the same SQLite file";
  // Once the server stops, the command runs.
  server_.reset();
  EXPECT_EQ(RunCommand(reconcile, {{"VAPI_API_KEY", "vk"}}).exit_code, 0);
}

}  // namespace
}  // namespace assistantd::testing
