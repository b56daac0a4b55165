// Two instances on one PostgreSQL database, each with its read cache: a read on one instance
// after a write on the other has returned never serves the version before that write, while
// readers keep both caches warm. Changes made outside any instance (psql) reach the caches
// too. PostgreSQL only: several instances on one database.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

double Sample(const std::string& body, const std::string& series) {
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

class CacheCoherenceTest : public SyncTest {};

TEST_F(CacheCoherenceTest, AReadOnOneInstanceNeverServesAVersionOlderThanAWriteOnTheOther) {
  ASSERT_TRUE(TestingPostgres()) << "this suite needs ASSISTANTD_TEST_BACKEND=postgres";
  auto other = StartServer("vk");
  HttpClient a(server_->port());
  HttpClient b(other->port());
  const auto created = a.Call("POST", "/v1/assistants", token_, R"({"name":"v0"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string path = "/v1/assistants/" + created.Json()["id"].get<std::string>();

  // Background readers on both instances keep the entry cached and race every fill against
  // the writes.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  struct JoinAtExit {  // also when an assertion ends the test early
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinAtExit() {
      stop = true;
      for (auto& t : threads) t.join();
    }
  } join_at_exit{stop, readers};
  for (uint16_t port : {server_->port(), other->port()}) {
    readers.emplace_back([&, port] {
      HttpClient c(port);
      while (!stop) {
        if (c.Call("GET", path, token_).status == 200) ++reads;
      }
    });
  }
  constexpr int kWrites = 200;
  for (int i = 1; i <= kWrites; ++i) {
    // Writes alternate between the instances; each read goes to the other one.
    HttpClient& writer = i % 2 ? a : b;
    HttpClient& reader = i % 2 ? b : a;
    const std::string name = "v" + std::to_string(i);
    const auto w = writer.Call("PATCH", path, token_, json{{"name", name}}.dump());
    ASSERT_EQ(w.status, 200) << w.body;
    const auto r = reader.Call("GET", path, token_);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.Json()["name"], name) << "write " << i << " was not visible on the other instance";
    ASSERT_GE(r.Json()["version"].get<int>(), w.Json()["version"].get<int>());
  }
  EXPECT_GT(reads.load(), 0);
  // The caches were used: reads between writes were hits.
  for (HttpClient* c : {&a, &b}) {
    const auto metrics = c->Send("GET", "/metrics").body;
    EXPECT_GT(Sample(metrics, "assistantd_cache_lookups_total{result=\"hit\"}"), 0) << metrics;
    EXPECT_GT(Sample(metrics, "assistantd_cache_invalidations_total"), 0);
  }
}

TEST_F(CacheCoherenceTest, ChangesMadeOutsideAnyInstanceReachTheCache) {
  ASSERT_TRUE(TestingPostgres()) << "this suite needs ASSISTANTD_TEST_BACKEND=postgres";
  const auto created = Create({{"name", "before"}});
  const std::string id = created["id"];
  const std::string path = "/v1/assistants/" + id;
  ASSERT_EQ(api_->Call("GET", path, token_).Json()["name"], "before");
  ASSERT_EQ(api_->Call("GET", path, token_).Json()["name"], "before");
  // An operator's UPDATE in psql: once it has committed, no instance serves the old row.
  QueryDatabase("UPDATE assistants SET name = 'after' WHERE id = '" + id + "'");
  EXPECT_EQ(api_->Call("GET", path, token_).Json()["name"], "after");
  // More rows in one statement than one notice names ('*'): every entry goes.
  for (int i = 0; i < 210; ++i) Create({{"name", "filler"}});
  ASSERT_EQ(api_->Call("GET", path, token_).Json()["name"], "after");
  QueryDatabase("UPDATE assistants SET name = 'bulk'");
  EXPECT_EQ(api_->Call("GET", path, token_).Json()["name"], "bulk");
  QueryDatabase("DELETE FROM assistants WHERE id = '" + id + "'");
  EXPECT_EQ(api_->Call("GET", path, token_).status, 404);
}

}  // namespace
}  // namespace assistantd::testing
