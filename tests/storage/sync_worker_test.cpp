// The sync worker against the real SQLite outbox and a scripted Vapi that fails in a chosen
// order — sequences vapi-sim's random faults only hit sometimes.
#include "sync/sync_worker.hpp"

#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "storage/sqlite/sqlite_assistant_store.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/sqlite_sync_store.hpp"
#include "storage/sqlite/sqlite_user_store.hpp"
#include "support/server_process.hpp"

namespace assistantd {
namespace {

using nlohmann::json;

// Vapi whose calls fail as scripted: each list entry is taken by the next call of that kind
// (true = fail with an outcome-unknown error). A failed create still stores the assistant,
// as a create whose answer was lost does.
class ScriptedVapi final : public vapi::VapiClient {
 public:
  std::vector<bool> create_fails;
  std::vector<bool> update_fails;
  std::vector<json> remote;
  int creates = 0;

  vapi::VapiResult CreateAssistant(const std::string&, const json& payload) override {
    ++creates;
    json a = payload;
    a["id"] = NewUuid();
    a["createdAt"] = FormatTimestamp(SystemClock().NowMicros());
    remote.push_back(a);
    if (Next(create_fails)) return tl::unexpected(Lost(500));
    return a;
  }
  vapi::VapiResult UpdateAssistant(const std::string&, const std::string& id,
                                   const json&) override {
    if (Next(update_fails)) return tl::unexpected(Lost(0));
    for (const auto& a : remote) {
      if (a["id"] == id) return a;
    }
    return tl::unexpected(
        vapi::VapiFailure{vapi::FailureKind::kPermanent, 404, "not found", {}, false});
  }
  vapi::VapiResult DeleteAssistant(const std::string&, const std::string&) override {
    return json::object();
  }
  vapi::VapiResult GetAssistant(const std::string&, const std::string&) override {
    return json::object();
  }
  vapi::VapiResult ListAssistants(const std::string&, const vapi::ListParams&) override {
    return json(remote);
  }

 private:
  static bool Next(std::vector<bool>& script) {
    if (script.empty()) return false;
    const bool fail = script.front();
    script.erase(script.begin());
    return fail;
  }
  static vapi::VapiFailure Lost(int status) {
    return {vapi::FailureKind::kTransient,
            status,
            status ? "Vapi answered 500" : "connection reset",
            {},
            true};
  }
};

class FixedKey final : public sync::KeySource {
 public:
  std::optional<std::string> KeyFor(const storage::SyncJob&) override { return "key"; }
  std::optional<std::string> KeyForOwner(const std::string&) override { return "key"; }
  std::optional<std::string> DefaultKey() override { return "key"; }
};

TEST(SyncWorkerTest, AFoundCopyIsNotCreatedAgainWhenTheFollowingUpdateFails) {
  testing::TempDir dir;
  LogFactory logs("off");
  auto db = storage::SqliteDatabase::Open({dir.path() + "/t.db", 2, 5000}, logs.Make("storage"));
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->Migrate());
  storage::SqliteAssistantStore assistants(**db);
  storage::SqliteSyncStore outbox(**db, assistants);
  storage::SqliteUserStore users(**db);
  ManualClock clock(SystemClock().NowMicros());
  const std::string owner = NewUuid();
  ASSERT_TRUE(users.EnsureUser(
      domain::MakeUser(owner, std::nullopt, domain::Role::kUser, clock.NowMicros())));
  domain::Assistant a;
  a.id = NewUuid();
  a.user_id = owner;
  a.fields = {{"name", "Once"}};
  a.created_at_us = a.updated_at_us = clock.NowMicros();
  ASSERT_TRUE(assistants.Create(a, std::nullopt, 0));

  // The create lands but its answer is lost; the retry finds the copy, and its update then
  // fails too; the attempt after that must update the copy it found, not create another.
  ScriptedVapi vapi;
  vapi.create_fails = {true};
  vapi.update_fails = {true};
  FixedKey keys;
  MetricsRegistry metrics;
  sync::SyncSettings settings;
  settings.workers = 0;
  settings.instance_id = "test";
  sync::SyncWorker worker(outbox, vapi, keys, clock, settings, logs.Make("sync"), metrics);
  for (int i = 0; i < 10; ++i) {
    worker.RunOnce();
    clock.Advance(120'000'000);  // past any backoff
  }
  const auto synced = outbox.LoadForSync(a.id);
  ASSERT_TRUE(synced && *synced);
  EXPECT_EQ((*synced)->sync_status, domain::SyncStatus::kSynced);
  EXPECT_EQ(vapi.creates, 1);
  ASSERT_EQ(vapi.remote.size(), 1u);
  EXPECT_EQ((*synced)->vapi_id, vapi.remote[0]["id"].get<std::string>());
}

}  // namespace
}  // namespace assistantd
