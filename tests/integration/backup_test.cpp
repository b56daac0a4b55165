// `assistantd backup` / `restore` and scheduled backups on SQLite, against the real server
// syncing to vapi-sim: a backup taken under write load restores exactly the writes
// acknowledged before it, with the audit chain intact and the sync state consistent
// (pending jobs resume, nothing is created twice in Vapi, reconcile finds nothing left to
// do); damaged, truncated, foreign and too-new files are refused before anything changes.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "integration/sync_fixture.hpp"

namespace assistantd::testing {
namespace {

namespace fs = std::filesystem;

class BackupTest : public SyncTest {
 protected:
  void SetUp() override {
    if (TestingPostgres()) GTEST_SKIP() << "SQLite backups; PostgreSQL is backed up with its tools";
    SyncTest::SetUp();
  }
  CommandResult Assistantd(std::vector<std::string> args) {
    args.insert(args.begin(), AssistantdBinary());
    args.insert(args.end(), {"--data-dir", dir_.path(), "--log-level", "warn"});
    return RunCommand(args);
  }
  std::string BackupFile() { return dir_.path() + "/drill.backup"; }
  json TakeBackup(const std::string& file) {
    const auto r = Assistantd({"backup", "-o", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out)["manifest"] : json();
  }
  std::set<std::string> LocalIds() {
    std::set<std::string> ids;
    std::string cursor;
    do {
      const auto r = api_->Call(
          "GET", "/v1/assistants?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor), token_);
      EXPECT_EQ(r.status, 200) << r.body;
      const auto page = r.Json();
      for (const auto& a : page["data"]) ids.insert(a["id"].get<std::string>());
      cursor = page["nextCursor"].is_string() ? page["nextCursor"].get<std::string>() : "";
    } while (!cursor.empty());
    return ids;
  }
  std::string Admin() { return server_->Token(NewUuid(), "admin"); }
  json Reconcile(const json& body) {
    const auto r = api_->Call("POST", "/v1/admin/reconcile", Admin(), body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  // Until no sync job is open (every change has reached Vapi) and none is dead.
  void WaitQueueEmpty() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    json q;
    do {
      q = api_->Call("GET", "/v1/admin/sync", Admin()).Json();
      if (q["queued"] == 0 && q["running"] == 0) break;
      Pause();
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(q["queued"], 0) << q.dump();
    EXPECT_EQ(q["dead"], 0) << q.dump();
  }
  static int Mode(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
  }
};

TEST_F(BackupTest, RestoreDrillUnderWriteLoad) {
  // Synced before the backup.
  std::vector<std::string> synced;
  for (int i = 0; i < 6; ++i)
    synced.push_back(Create({{"name", "synced " + std::to_string(i)}})["id"]);
  for (const auto& id : synced) WaitSynced(id);
  // Pending at backup time: Vapi refuses every call for now.
  Faults({{"failRate", 1}, {"failStatuses", {500}}, {"retryAfterSeconds", 0}});
  std::vector<std::string> pending;
  for (int i = 0; i < 4; ++i)
    pending.push_back(Create({{"name", "pending " + std::to_string(i)}})["id"]);

  // Writes go on while the backup runs; those acknowledged before it began are in it.
  std::atomic<bool> stop{false};
  std::vector<std::string> during;
  std::thread writer([&] {
    HttpClient client(server_->port());
    for (int i = 0; !stop.load() || i < 5; ++i) {
      const auto r = client.Call("POST", "/v1/assistants", token_,
                                 json{{"name", "during " + std::to_string(i)}}.dump());
      ASSERT_EQ(r.status, 201) << r.body;
      during.push_back(r.Json()["id"]);
    }
  });
  const json manifest = TakeBackup(BackupFile());
  stop = true;
  writer.join();
  ASSERT_FALSE(manifest.is_null());
  EXPECT_EQ(manifest["backend"], "sqlite");
  EXPECT_GE(manifest["counts"]["assistants"].get<int>(), 10);
  EXPECT_EQ(Mode(BackupFile()), 0600);
  EXPECT_EQ(Mode(dir_.path() + "/assistantd.db"), 0600);

  // After the backup: changes the restore undoes, reaching Vapi this time.
  Faults({{"failRate", 0}});
  std::vector<std::string> after;
  for (int i = 0; i < 3; ++i)
    after.push_back(Create({{"name", "after " + std::to_string(i)}})["id"]);
  ASSERT_EQ(
      api_->Call("PATCH", "/v1/assistants/" + synced[0], token_, R"({"name":"renamed"})").status,
      200);
  ASSERT_EQ(api_->Call("DELETE", "/v1/assistants/" + synced[1], token_, "", {{"Prefer", "wait=10"}})
                .status,
            200);
  for (const auto& group : {pending, during, after}) {
    for (const auto& id : group) WaitSynced(id);
  }
  WaitSynced(synced[0]);

  // The drill: stop, restore, start.
  ASSERT_EQ(server_->Stop(), 0);
  const auto restored = Assistantd({"restore", BackupFile()});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  const auto report = json::parse(restored.out);
  EXPECT_EQ(report["counts"], manifest["counts"]);
  ASSERT_TRUE(report["previous"].is_string());
  EXPECT_TRUE(fs::exists(report["previous"].get<std::string>()));
  server_ = StartServer("vk");

  const auto ids = LocalIds();
  EXPECT_EQ(static_cast<int>(ids.size()), manifest["counts"]["assistants"].get<int>());
  for (const auto& group : {synced, pending}) {
    for (const auto& id : group) EXPECT_TRUE(ids.contains(id)) << id;
  }
  for (const auto& id : after) EXPECT_FALSE(ids.contains(id)) << id;
  for (const auto& id : ids) {
    const bool known = std::find(synced.begin(), synced.end(), id) != synced.end() ||
                       std::find(pending.begin(), pending.end(), id) != pending.end() ||
                       std::find(during.begin(), during.end(), id) != during.end();
    EXPECT_TRUE(known) << "restored an assistant nobody created: " << id;
  }
  EXPECT_EQ(api_->Call("GET", "/v1/assistants/" + synced[0], token_).Json()["name"], "synced 0");
  EXPECT_EQ(api_->Call("GET", "/v1/assistants/" + synced[1], token_).status, 200);

  // Jobs open at backup time resume; a create that reached Vapi after the snapshot is found
  // there, not sent again.
  WaitQueueEmpty();
  auto copies = RemoteCopies();
  for (const auto& id : pending) EXPECT_EQ(copies[id], 1) << id;

  // Reconcile puts Vapi back in line with the restored data: the deleted one re-created, the
  // copies of writes the restore undid removed, the renamed one repaired.
  const auto repaired = Reconcile({{"repairDrift", true}});
  EXPECT_EQ(repaired["missing"]["items"], json::array({synced[1]})) << repaired.dump();
  EXPECT_GE(repaired["orphans"]["count"].get<int>(), 3) << repaired.dump();
  EXPECT_EQ(repaired["duplicates"]["count"], 0) << repaired.dump();
  WaitQueueEmpty();
  copies = RemoteCopies();
  for (const auto& [id, n] : copies) {
    EXPECT_TRUE(ids.contains(id)) << "a remote copy of an assistant not restored: " << id;
    EXPECT_EQ(n, 1) << id;
  }
  EXPECT_EQ(copies.size(), ids.size());
  const auto clean = Reconcile({{"dryRun", true}});
  for (const char* kind : {"missing", "orphans", "duplicates", "drift"}) {
    EXPECT_EQ(clean[kind]["count"], 0) << kind << ": " << clean.dump();
  }

  // The audit chain verifies and holds everything the backup held.
  ASSERT_EQ(server_->Stop(), 0);
  const auto verify = Assistantd({"audit", "verify"});
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_GE(json::parse(verify.out)["entries"].get<int>(), manifest["audit"]["entries"].get<int>());
}

TEST_F(BackupTest, DamagedForeignAndTooNewBackupsChangeNothing) {
  for (int i = 0; i < 3; ++i) Create({{"name", "kept " + std::to_string(i)}});
  const std::string good = BackupFile();
  const json manifest = TakeBackup(good);
  ASSERT_FALSE(manifest.is_null());
  Create({{"name", "only in the live database"}});

  // While the server runs, a restore is refused outright; a check is allowed.
  const auto busy = Assistantd({"restore", good});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("using"), std::string::npos) << busy.err;
  const auto check = Assistantd({"restore", "--check", good});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  ASSERT_EQ(server_->Stop(), 0);

  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t body = bytes.find('\n') + 1;
  const auto write = [&](const std::string& name, const std::string& content) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };
  std::string flipped = bytes;
  flipped[body + (bytes.size() - body) / 2] ^= 0x5a;
  json newer = manifest;
  newer["schemaVersion"] = 9999;
  json wrong_sum = manifest;
  wrong_sum["payload"]["sha256"] = std::string(64, '0');
  const std::vector<std::pair<std::string, std::string>> bad = {
      {write("flipped.backup", flipped), "damaged"},
      {write("truncated.backup", bytes.substr(0, body + (bytes.size() - body) / 2)), "truncated"},
      {write("trailing.backup", bytes + "more"), "after its compressed payload"},
      {write("newer.backup", newer.dump() + "\n" + bytes.substr(body)), "newer"},
      {write("checksum.backup", wrong_sum.dump() + "\n" + bytes.substr(body)), "checksum"},
      {write("foreign.backup", "SQLite format 3\n" + bytes.substr(body)),
       "not an assistantd backup"},
  };
  for (const auto& [path, why] : bad) {
    const auto r = Assistantd({"restore", path});
    EXPECT_EQ(r.exit_code, 1) << path;
    EXPECT_NE(r.err.find(why), std::string::npos) << path << ": " << r.err;
  }
  // Nothing was replaced or left behind: the live database still has its last write.
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(name.find("pre-restore"), std::string::npos) << name;
    EXPECT_EQ(name.find("restoring"), std::string::npos) << name;
  }
  server_ = StartServer("vk");
  EXPECT_EQ(LocalIds().size(), 4u);
}

TEST_F(BackupTest, ScheduledBackupsKeepTheNewestAndReportTheirAge) {
  server_->Stop();
  const std::string backups = dir_.path() + "/scheduled";
  server_ = StartServer(
      "vk", "", {{"--backup-interval", "1s"}, {"--backup-dir", backups}, {"--backup-keep", "2"}});
  Create({{"name", "scheduled"}});
  // The first backup is taken at start; with three written, the oldest is pruned.
  ASSERT_TRUE(server_->WaitForLog("old backup removed")) << server_->Logs();
  const auto metrics = api_->Send("GET", "/metrics").body;
  EXPECT_NE(metrics.find("assistantd_backups_total{outcome=\"ok\"}"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("assistantd_backup_last_success_timestamp_seconds 0\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("assistantd_backup_age_seconds"), std::string::npos);
  ASSERT_EQ(server_->Stop(), 0);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(backups)) files.push_back(entry.path().string());
  ASSERT_EQ(files.size(), 2u) << "only the newest two are kept, nothing partial is left";
  for (const auto& f : files) {
    EXPECT_TRUE(f.ends_with(".backup")) << f;
    EXPECT_EQ(Mode(f), 0600) << f;
    const auto r = Assistantd({"restore", "--check", f});
    EXPECT_EQ(r.exit_code, 0) << f << ": " << r.err;
  }
  EXPECT_EQ(Mode(backups), 0700);
}

}  // namespace
}  // namespace assistantd::testing
