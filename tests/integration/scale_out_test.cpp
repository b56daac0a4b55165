// Scale-out (C16): three `assistantd serve` processes on one PostgreSQL database and one
// vapi-sim share the outbox; every job runs exactly once. Registered for PostgreSQL only
// (several processes on one SQLite file are not a supported deployment).
#include <gtest/gtest.h>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

class ScaleOutTest : public SyncTest {};

TEST_F(ScaleOutTest, ThreeInstancesRunEveryJobExactlyOnce) {
  ASSERT_TRUE(TestingPostgres()) << "this suite needs ASSISTANTD_TEST_BACKEND=postgres";
  // Three instances on the same database (same data dir: same secrets and database).
  std::vector<std::unique_ptr<ServerProcess>> servers;
  std::vector<std::unique_ptr<HttpClient>> clients;
  server_.reset();
  for (int i = 0; i < 3; ++i) {
    servers.push_back(StartServer("vk"));
    clients.push_back(std::make_unique<HttpClient>(servers.back()->port()));
  }
  token_ = servers[0]->Token(user_);
  constexpr int kAssistants = 240;
  std::vector<std::string> ids;
  for (int i = 0; i < kAssistants; ++i) {
    auto& api = *clients[static_cast<size_t>(i % 3)];
    const auto r =
        api.Call("POST", "/v1/assistants", token_, json{{"name", "a" + std::to_string(i)}}.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.Json()["id"]);
  }
  // Updates through another instance than the create went through.
  for (int i = 0; i < kAssistants; i += 3) {
    auto& api = *clients[static_cast<size_t>((i + 1) % 3)];
    ASSERT_EQ(api.Call("PATCH", "/v1/assistants/" + ids[static_cast<size_t>(i)], token_,
                       R"({"firstMessage":"updated"})")
                  .status,
              200);
  }
  const auto admin = servers[0]->Token(NewUuid(), "admin");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    const auto q = clients[2]->Call("GET", "/v1/admin/sync", admin).Json();
    const auto synced =
        clients[1]->Call("GET", "/v1/assistants?syncStatus=pending&limit=1", token_).Json()["data"];
    if (q["queued"] == 0 && q["running"] == 0 && synced.empty()) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << q.dump();
    Pause();
  }
  // Exactly one remote copy per assistant, created by exactly one POST.
  const auto copies = RemoteCopies();
  ASSERT_EQ(copies.size(), static_cast<size_t>(kAssistants));
  for (const auto& id : ids) EXPECT_EQ(copies.at(id), 1) << id;
  const auto stats = control_->Send("GET", "/__sim/stats").Json();
  EXPECT_EQ(stats["byMethod"]["POST"]["201"], kAssistants) << stats.dump();
  // No job ran any operation twice, and every job ran somewhere.
  EXPECT_EQ(QueryDatabase("SELECT count(*) FROM (SELECT job_id, operation FROM sync_attempts "
                          "GROUP BY job_id, operation HAVING count(*) > 1) AS twice"),
            "0\n");
  EXPECT_EQ(QueryDatabase("SELECT count(*) FROM sync_attempts WHERE operation = 'create'"),
            std::to_string(kAssistants) + "\n");
  EXPECT_EQ(QueryDatabase("SELECT count(*) FROM sync_jobs WHERE state <> 'done'"), "0\n");
  int instances_that_worked = 0;
  for (const auto& s : servers) {
    instances_that_worked += s->Logs().find("sync job finished") != std::string::npos ? 1 : 0;
  }
  EXPECT_GE(instances_that_worked, 1);
  std::printf("[ scale-out ] %d of 3 instances ran sync jobs\n", instances_that_worked);
}

}  // namespace
}  // namespace assistantd::testing
