// The hash-chained audit log (C12): every mutation recorded with actor, role, action, target,
// request id, IP and masked before/after; `assistantd audit verify` finds tampering; admins
// query everything, users their own trail.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "integration/accounts_fixture.hpp"

namespace assistantd::testing {
namespace {

class AuditTest : public AccountsTest {
 protected:
  void SetUp() override {
    server_.reset();
    server_ = ServerProcess::Start(
        {.args = {"--sync-workers", "0", "--publishable-key", kTestPublishableKey},
         .data_dir = dir_.path()});
    client_ = std::make_unique<HttpClient>(server_->port());
  }
  // Runs SQL on the server's database, as an intruder with database access would.
  std::string Sql(const std::string& sql) {
    const auto r = RunSql(dir_.path(), sql);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  CommandResult Verify() {
    std::vector<std::string> argv = {ASSISTANTD_BINARY, "audit", "verify", "--data-dir",
                                     dir_.path()};
    for (const auto& a : DatabaseArgs(dir_.path())) argv.push_back(a);
    return RunCommand(argv);
  }
  json AdminAudit(const std::string& query) {
    const auto r = client_->Call("GET", "/v1/admin/audit" + query, admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  // A few mutations of several kinds by two users and an admin.
  void MakeHistory() {
    alice_ = NewSession(UniqueEmail());
    bob_ = NewSession(UniqueEmail());
    const auto a = client_->Call(
        "POST", "/v1/assistants", alice_["access_token"],
        R"({"name":"A1","server":{"url":"https://example.com/hook","headers":{"Authorization":"hook-secret-1"}}})");
    ASSERT_EQ(a.status, 201) << a.body;
    assistant_ = a.Json()["id"];
    ASSERT_EQ(client_
                  ->Call("PATCH", "/v1/assistants/" + assistant_, alice_["access_token"],
                         R"({"name":"A2"})")
                  .status,
              200);
    ASSERT_EQ(client_
                  ->Call("PUT", "/v1/config/vapi-key", bob_["access_token"],
                         R"({"apiKey":"vapi-secret-key-123"})")
                  .status,
              200);
    ASSERT_EQ(
        client_->Call("DELETE", "/v1/assistants/" + assistant_, alice_["access_token"]).status,
        204);
    ASSERT_EQ(client_
                  ->Call("PATCH", "/v1/admin/users/" + bob_["user"]["id"].get<std::string>(),
                         admin_, R"({"role":"premium"})")
                  .status,
              200);
    // A query seals every committed entry first (on PostgreSQL entries are sealed into the
    // chain after their commit), so tests reading the table see the whole chain.
    AdminAudit("?limit=1");
  }

  TempDir dir_;
  std::string admin_ = "";
  json alice_;
  json bob_;
  std::string assistant_;
};

TEST_F(AuditTest, EveryMutationIsRecordedWithMaskedSecrets) {
  admin_ = server_->Token(NewUuid(), "admin");
  MakeHistory();
  const auto all = AdminAudit("?limit=200")["data"];
  std::vector<std::string> actions;
  for (const auto& e : all) actions.push_back(e["action"]);
  for (const char* expected :
       {"user.create", "session.create", "assistant.create", "assistant.update", "vapi_key.put",
        "assistant.delete", "user.role_change"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), expected), actions.end()) << expected;
  }
  // Newest first, numbered without gaps, each linked to the one before.
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(all[i - 1]["seq"].get<int64_t>(), all[i]["seq"].get<int64_t>() + 1);
    EXPECT_EQ(all[i - 1]["prevHash"], all[i]["hash"]);
  }
  const auto update = AdminAudit("?action=assistant.update")["data"];
  ASSERT_EQ(update.size(), 1u);
  EXPECT_EQ(update[0]["actorId"], alice_["user"]["id"]);
  EXPECT_EQ(update[0]["actorRole"], "user");
  EXPECT_EQ(update[0]["targetId"], assistant_);
  EXPECT_EQ(update[0]["before"]["name"], "A1");
  EXPECT_EQ(update[0]["after"]["name"], "A2");
  EXPECT_EQ(update[0]["ip"], "127.0.0.1");
  EXPECT_FALSE(update[0]["requestId"].get<std::string>().empty());
  EXPECT_EQ(update[0]["after"]["server"]["headers"]["Authorization"], "***");
  const auto role = AdminAudit("?action=user.role_change")["data"];
  ASSERT_EQ(role.size(), 1u);
  EXPECT_EQ(role[0]["before"]["role"], "user");
  EXPECT_EQ(role[0]["after"]["role"], "premium");
  const std::string everything = AdminAudit("?limit=200").dump();
  EXPECT_EQ(everything.find("hook-secret-1"), std::string::npos);
  EXPECT_EQ(everything.find("vapi-secret-key-123"), std::string::npos);

  // A request id given by the client is the one recorded.
  const auto r = client_->Call("POST", "/v1/assistants", alice_["access_token"], R"({"name":"B"})",
                               {{"X-Request-Id", "trace-abc-123"}});
  ASSERT_EQ(r.status, 201);
  const auto traced = AdminAudit("?target=" + r.Json()["id"].get<std::string>())["data"];
  ASSERT_EQ(traced.size(), 1u);
  EXPECT_EQ(traced[0]["requestId"], "trace-abc-123");
}

TEST_F(AuditTest, UsersReadOnlyTheirOwnTrailAndAdminsPageThroughEverything) {
  admin_ = server_->Token(NewUuid(), "admin");
  MakeHistory();
  const auto mine = client_->Call("GET", "/v1/profile/audit?limit=200", alice_["access_token"]);
  ASSERT_EQ(mine.status, 200) << mine.body;
  ASSERT_FALSE(mine.Json()["data"].empty());
  const json trail = mine.Json();  // a range-for over Json()["data"] would outlive the temporary
  for (const auto& e : trail["data"]) {
    const bool about_alice =
        e["subjectUserId"] == alice_["user"]["id"] || e["actorId"] == alice_["user"]["id"];
    EXPECT_TRUE(about_alice) << e.dump();
  }
  // Users cannot widen their query or reach the admin listing.
  EXPECT_EQ(client_
                ->Call("GET", "/v1/profile/audit?user=" + bob_["user"]["id"].get<std::string>(),
                       alice_["access_token"])
                .status,
            400);
  EXPECT_EQ(client_->Call("GET", "/v1/admin/audit", alice_["access_token"]).status, 403);

  // Cursor pagination visits every entry once.
  const size_t total = AdminAudit("?limit=200")["data"].size();
  size_t seen = 0;
  std::string cursor;
  for (int pages = 0; pages < 100; ++pages) {
    const auto page = AdminAudit("?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    seen += page["data"].size();
    if (page["nextCursor"].is_null()) break;
    cursor = page["nextCursor"];
  }
  EXPECT_EQ(seen, total);
  const auto by_user = AdminAudit("?user=" + bob_["user"]["id"].get<std::string>())["data"];
  EXPECT_FALSE(by_user.empty());
  for (const char* bad : {"?limit=0", "?cursor=abc", "?since=yesterday", "?actor=nope", "?x=1"}) {
    EXPECT_EQ(client_->Call("GET", std::string("/v1/admin/audit") + bad, admin_).status, 400)
        << bad;
  }
}

TEST_F(AuditTest, VerifyFindsAnEditedARemovedAndAnInsertedEntry) {
  admin_ = server_->Token(NewUuid(), "admin");
  MakeHistory();
  auto ok = Verify();
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  const auto report = json::parse(ok.out);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_GE(report["entries"].get<int>(), 7);

  // Edit one entry's action in place: that entry fails its hash.
  std::string original = Sql("SELECT action FROM audit_log WHERE seq = 3");
  original = original.substr(0, original.find('\n'));
  Sql("UPDATE audit_log SET action = 'assistant.read' WHERE seq = 3");
  auto edited = Verify();
  EXPECT_EQ(edited.exit_code, 2) << edited.out;
  EXPECT_EQ(json::parse(edited.out)["firstBadSeq"], 3);
  EXPECT_NE(json::parse(edited.out)["problem"].get<std::string>().find("altered"),
            std::string::npos);
  // Restored, the chain verifies again; then remove an entry: a gap.
  Sql("UPDATE audit_log SET action = '" + original + "' WHERE seq = 3");
  EXPECT_EQ(Verify().exit_code, 0);
  Sql("DELETE FROM audit_log WHERE seq = 5");
  auto removed = Verify();
  EXPECT_EQ(removed.exit_code, 2);
  EXPECT_EQ(json::parse(removed.out)["firstBadSeq"], 6);
  EXPECT_NE(json::parse(removed.out)["problem"].get<std::string>().find("missing"),
            std::string::npos);
}

// serve checks the chain itself (--audit-verify-interval) and says so in /metrics and the log,
// which is what the AuditChainBroken alert (deploy/prometheus/alerts.yml) watches.
TEST_F(AuditTest, ServeNoticesATamperedChainOnItsOwn) {
  server_.reset();
  server_ = ServerProcess::Start({.args = {"--sync-workers", "0", "--publishable-key",
                                           kTestPublishableKey, "--audit-verify-interval", "1s"},
                                  .data_dir = dir_.path()});
  client_ = std::make_unique<HttpClient>(server_->port());
  admin_ = server_->Token(NewUuid(), "admin");
  MakeHistory();
  ASSERT_TRUE(server_->WaitForLog("audit chain intact"));
  EXPECT_NE(client_->Call("GET", "/metrics", "").body.find("\nassistantd_audit_chain_ok 1\n"),
            std::string::npos);
  Sql("UPDATE audit_log SET action = 'assistant.read' WHERE seq = 2");
  ASSERT_TRUE(server_->WaitForLog("audit chain broken"));
  const std::string metrics = client_->Call("GET", "/metrics", "").body;
  EXPECT_NE(metrics.find("\nassistantd_audit_chain_ok 0\n"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("assistantd_audit_verify_runs_total{outcome=\"broken\"} 0\n"),
            std::string::npos);
}

TEST_F(AuditTest, AForgedEntryWithAGuessedHashIsDetected) {
  admin_ = server_->Token(NewUuid(), "admin");
  MakeHistory();
  const std::string last = Sql("SELECT max(seq) FROM audit_log");
  const int64_t next = std::stoll(last) + 1;
  const std::string head =
      Sql("SELECT hash FROM audit_log WHERE seq = " + last.substr(0, last.find('\n')));
  const std::string prev = head.substr(0, head.find('\n'));
  const bool pg = !DatabaseArgs(dir_.path()).empty();
  Sql("INSERT INTO audit_log (seq, at, actor_role, action, target_type, request_id, ip, prev_hash, "
      "hash) VALUES (" +
      std::to_string(next) + ", " + (pg ? "now()" : "0") +
      ", 'admin', 'user.delete', 'user', 'forged', '10.0.0.1', '" + prev + "', '" +
      std::string(64, 'a') + "')");
  const auto r = Verify();
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(json::parse(r.out)["firstBadSeq"], next);
}

// Concurrent creates, updates and deletes are committed together (group commit), each with its
// audit entry in its own transaction: killing the server mid-burst leaves every acknowledged
// change in the database with its entry, and the chain intact.
TEST_F(AuditTest, AKillDuringAWriteBurstLeavesNoAcknowledgedChangeWithoutItsEntry) {
  server_.reset();
  server_ = ServerProcess::Start(
      {.args = {"--sync-workers", "0", "--publishable-key", kTestPublishableKey,
                "--max-assistants-user", "0", "--rate-limit-user", "1000000000/1m"},
       .data_dir = dir_.path()});
  client_ = std::make_unique<HttpClient>(server_->port());
  const std::string token = NewSession(UniqueEmail())["access_token"];
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> created;  // acknowledged creates
  std::set<std::string> deleted;     // acknowledged deletes
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  const uint16_t port = server_->port();
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      HttpClient c(port);
      try {
        for (int i = 0; !stop; ++i) {
          const auto r =
              c.Call("POST", "/v1/assistants", token,
                     json{{"name", "burst " + std::to_string(t) + "-" + std::to_string(i)}}.dump());
          if (r.status != 201) continue;
          const std::string id = r.Json()["id"];
          const std::string path = "/v1/assistants/" + id;
          bool gone = false;
          if (i % 3 == 1) (void)c.Call("PATCH", path, token, R"({"name":"patched"})");
          if (i % 3 == 2) gone = c.Call("DELETE", path, token).status == 204;
          std::lock_guard lock(mu);
          created.push_back(id);
          if (gone) deleted.insert(id);
          cv.notify_all();
        }
      } catch (const std::exception&) {
        // The server went away mid-call: that change was not acknowledged.
      }
    });
  }
  bool burst = false;
  {
    std::unique_lock lock(mu);
    burst = cv.wait_for(lock, std::chrono::seconds(60), [&] { return created.size() >= 150; });
  }
  ASSERT_EQ(server_->Stop(SIGKILL), 128 + SIGKILL);
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_TRUE(burst) << "only " << created.size() << " writes were acknowledged";

  SetUp();  // the same data dir (and database), a new process
  admin_ = server_->Token(NewUuid(), "admin");
  for (const auto& id : created) {
    const auto got = client_->Call("GET", "/v1/assistants/" + id, token);
    EXPECT_EQ(got.status, deleted.count(id) ? 404 : 200) << id;
    for (const std::string action :
         {"assistant.create", deleted.count(id) ? "assistant.delete" : ""}) {
      if (action.empty()) continue;
      const auto entries = AdminAudit("?action=" + action + "&target=" + id)["data"];
      EXPECT_EQ(entries.size(), 1u) << action << " " << id;
    }
  }
  const auto verified = Verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

// kill -9 at 50 points of a concurrent load of creates, patches, deletes and sign-ups (the kill
// points fall wherever the load is when enough writes were acknowledged: a seeded count per
// round, never a sleep). Afterwards every acknowledged write is there exactly as acknowledged,
// a write cut off by the kill is either wholly there or not at all, the database is intact and
// the audit chain verifies.
TEST_F(AuditTest, FiftyKillsDuringMixedWritesLoseNoAcknowledgedWrite) {
  const auto start = [this] {
    server_.reset();
    server_ = ServerProcess::Start(
        {.args = {"--sync-workers", "0", "--publishable-key", kTestPublishableKey,
                  "--max-assistants-user", "0", "--rate-limit-user", "1000000000/1m",
                  "--rate-limit-signup-ip", "1000000000/1m", "--rate-limit-token-ip",
                  "1000000000/1m", "--rate-limit-signin-account", "1000000000/1m"},
         .data_dir = dir_.path()});
    client_ = std::make_unique<HttpClient>(server_->port());
  };
  start();
  const std::string password = "correct horse";
  const std::string token = NewSession(UniqueEmail(), password)["access_token"];
  std::mutex mu;
  std::condition_variable cv;
  // Per assistant, the names it may have afterwards ("" for gone): one when its last write was
  // acknowledged, two when that write was cut off.
  std::map<std::string, std::set<std::string>> allowed;
  std::vector<std::string> accounts;  // acknowledged sign-ups
  std::mt19937 seeded(20261203);
  int acknowledged = 0;
  for (int round = 0; round < 50; ++round) {
    if (round > 0) start();
    const int kill_after = acknowledged + 2 + static_cast<int>(seeded() % 12);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t, port = server_->port()] {
        HttpClient c(port);
        std::vector<std::pair<std::string, std::string>> mine;  // live: id, name
        const auto settle = [&](const std::string& id, const std::string& now, bool acked) {
          std::lock_guard lock(mu);
          if (acked) {
            allowed[id] = {now};
            ++acknowledged;
            cv.notify_all();
          } else {
            allowed[id].insert(now);
          }
        };
        for (int i = 0; !stop; ++i) {
          const std::string tag =
              std::to_string(round) + "-" + std::to_string(t) + "-" + std::to_string(i);
          try {
            if (i % 4 == 3) {
              const std::string email =
                  "kill" + tag + "-" + NewUuid().substr(0, 6) + "@example.com";
              const auto r =
                  c.Send("POST", "/auth/v1/signup",
                         json{{"email", email}, {"password", password}}.dump(), AuthHeaders());
              if (r.status != 200) continue;
              std::lock_guard lock(mu);
              accounts.push_back(email);
              ++acknowledged;
              cv.notify_all();
            } else if (i % 4 == 0 || mine.empty()) {
              const std::string name = "c" + tag;
              const auto r = c.Call("POST", "/v1/assistants", token, json{{"name", name}}.dump());
              if (r.status != 201) continue;
              mine.emplace_back(r.Json()["id"], name);
              settle(mine.back().first, name, true);
            } else if (i % 4 == 1) {
              auto& [id, name] = mine.back();
              const std::string next = "p" + tag;
              settle(id, next, false);  // in flight: either name may survive a kill
              const auto r =
                  c.Call("PATCH", "/v1/assistants/" + id, token, json{{"name", next}}.dump());
              if (r.status != 200) return;  // this id's state is uncertain now: leave it
              name = next;
              settle(id, next, true);
            } else {
              const std::string id = mine.front().first;
              settle(id, "", false);
              const auto r = c.Call("DELETE", "/v1/assistants/" + id, token);
              if (r.status != 204) return;
              mine.erase(mine.begin());
              settle(id, "", true);
            }
          } catch (const std::exception&) {
            return;  // the server went away mid-call: that write was not acknowledged
          }
        }
      });
    }
    bool reached = false;
    {
      std::unique_lock lock(mu);
      reached =
          cv.wait_for(lock, std::chrono::seconds(60), [&] { return acknowledged >= kill_after; });
    }
    const int exit_code = server_->Stop(SIGKILL);
    stop = true;
    for (auto& w : writers) w.join();
    ASSERT_EQ(exit_code, 128 + SIGKILL);
    ASSERT_TRUE(reached) << "round " << round << ": only " << acknowledged
                         << " writes acknowledged";
  }

  start();
  ASSERT_GE(acknowledged, 100);
  for (const auto& [id, names] : allowed) {
    const auto got = client_->Call("GET", "/v1/assistants/" + id, token);
    const std::string now = got.status == 200 ? got.Json()["name"].get<std::string>() : "";
    EXPECT_TRUE(got.status == 200 || got.status == 404) << id << " " << got.status;
    EXPECT_TRUE(names.count(now)) << id << " is '" << now << "', which was never acknowledged";
  }
  for (const auto& email : accounts) EXPECT_EQ(SignIn(email, password).status, 200) << email;
  const auto verified = Verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  if (!TestingPostgres()) {
    EXPECT_EQ(Sql("PRAGMA integrity_check;"), "ok\n");
  }
}

// Sign-up on a full disk once answered 503 "nothing was changed" while the account existed.
// Now, as the disk fills (the server's file-size limit lowered under it), every write is
// refused with 503 and changes nothing, reads go on, and once there is room again writes
// succeed with nothing acknowledged lost.
TEST_F(AuditTest, AFullDiskRefusesWritesChangesNothingAndRecovers) {
  if (TestingPostgres()) GTEST_SKIP() << "SQLite's own files; PostgreSQL's disk is its server's";
  server_.reset();
  server_ = ServerProcess::Start(
      {.args = {"--sync-workers", "0", "--publishable-key", kTestPublishableKey,
                "--max-assistants-user", "0", "--rate-limit-user", "1000000000/1m",
                "--rate-limit-signup-ip", "1000000000/1m"},
       .data_dir = dir_.path()});
  client_ = std::make_unique<HttpClient>(server_->port());
  const std::string token = NewSession(UniqueEmail())["access_token"];
  const std::string text(30 * 1024, 'x');
  const auto create = [&](int i) {
    return client_->Call(
        "POST", "/v1/assistants", token,
        json{{"name", "full " + std::to_string(i)}, {"firstMessage", text}}.dump());
  };
  std::vector<std::string> kept;
  // Room for a few of these writes past what the files hold now, then no more.
  std::uintmax_t largest = 0;
  for (const auto* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir_.path() + "/assistantd.db" + suffix, ec);
    if (!ec) largest = std::max(largest, size);
  }
  server_->LimitFileSize(static_cast<long>(largest + 256 * 1024));
  HttpResult refused;
  for (int i = 0; i < 2000 && refused.status == 0; ++i) {
    auto r = create(i);
    if (r.status == 201) {
      kept.push_back(r.Json()["id"]);
    } else {
      refused = std::move(r);
    }
  }
  ASSERT_EQ(refused.status, 503) << refused.body;
  ASSERT_FALSE(kept.empty()) << "the disk was full before the first write";
  // storage_full on a disk out of space (SQLITE_FULL); a write past the file-size limit is an
  // I/O error to SQLite (storage_unavailable). Either way nothing was changed.
  const std::string code = refused.Json()["error"]["code"];
  EXPECT_TRUE(code == "storage_full" || code == "storage_unavailable") << refused.body;
  // Small writes may still fit where the large one did not: fill up with them too.
  for (int i = 0; i < 2000; ++i) {
    const auto r = client_->Call("POST", "/v1/assistants", token, json{{"name", "s"}}.dump());
    if (r.status != 201) break;
    kept.push_back(r.Json()["id"]);
  }
  // Full: a sign-up is refused and leaves no account; reads still answer.
  const std::string email = UniqueEmail();
  const int signed_up = SignUp(email, "correct horse").status;
  EXPECT_TRUE(signed_up == 503 || signed_up == 200) << signed_up;
  EXPECT_EQ(client_->Call("GET", "/v1/assistants/" + kept.front(), token).status, 200);
  EXPECT_EQ(client_->Send("GET", "/healthz").status, 200);

  server_->LimitFileSize(std::nullopt);
  const auto after = create(-1);
  ASSERT_EQ(after.status, 201) << after.body;
  kept.push_back(after.Json()["id"]);
  ASSERT_EQ(server_->Stop(SIGKILL), 128 + SIGKILL);

  SetUp();
  size_t listed = 0;
  for (std::string cursor;;) {
    const auto page = client_->Call(
        "GET", "/v1/assistants?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor), token);
    ASSERT_EQ(page.status, 200) << page.body;
    listed += page.Json()["data"].size();
    if (page.Json()["nextCursor"].is_null()) break;
    cursor = page.Json()["nextCursor"];
  }
  EXPECT_EQ(listed, kept.size()) << "a refused create left an assistant";
  for (const auto& id : kept)
    EXPECT_EQ(client_->Call("GET", "/v1/assistants/" + id, token).status, 200);
  // The sign-up's answer told the truth: an account if and only if it said 200.
  EXPECT_EQ(SignIn(email, "correct horse").status, signed_up == 200 ? 200 : 400);
  EXPECT_EQ(Sql("PRAGMA integrity_check;"), "ok\n");
  const auto verified = Verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

}  // namespace
}  // namespace assistantd::testing
