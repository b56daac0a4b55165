// The fixture of the sync suites: a real vapi-sim and the real assistantd syncing to it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/uuid.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {

using nlohmann::json;

constexpr const char* kStoredKey = "stored-key-7f3a9c";

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = ServerProcess::StartVapiSim({"--api-key", "vk", "--api-key", kStoredKey});
    control_ = std::make_unique<HttpClient>(sim_->port());
    server_ = StartServer("vk");
    user_ = NewUuid();
    token_ = server_->Token(user_);
  }

  // Starts assistantd against the simulator; `overrides` replace default flag values.
  std::unique_ptr<ServerProcess> StartServer(
      const std::string& key, const std::string& data_dir = "",
      const std::map<std::string, std::string>& overrides = {}) {
    std::map<std::string, std::string> flags = {
        {"--vapi-base-url", "http://127.0.0.1:" + std::to_string(sim_->port()) + "/v1"},
        {"--sync-workers", "2"},
        {"--sync-backoff-base-ms", "20"},
        {"--sync-backoff-cap-ms", "200"},
        {"--sync-max-attempts", "60"},
        {"--breaker-open-ms", "50"},
        // These suites drive thousands of writes through one user: quotas and request limits
        // are tested in limits_test.cpp.
        {"--max-assistants-user", "0"},
        {"--rate-limit-user", "0"}};
    for (const auto& [flag, value] : overrides) flags[flag] = value;
    ServerProcess::Options o;
    for (const auto& [flag, value] : flags) {
      o.args.push_back(flag);
      o.args.push_back(value);
    }
    if (!key.empty()) o.env["VAPI_API_KEY"] = key;
    o.data_dir = data_dir.empty() ? dir_.path() : data_dir;
    auto s = ServerProcess::Start(o);
    api_ = std::make_unique<HttpClient>(s->port());
    return s;
  }

  json Create(const json& body) {
    const auto r = api_->Call("POST", "/v1/assistants", token_, body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json();
  }
  json SyncStatus(const std::string& id) {
    return api_->Call("GET", "/v1/assistants/" + id + "/sync", token_).Json();
  }
  // Polls an observable condition, pausing briefly between looks so the poller does not
  // starve the server of CPU; gives up after a minute.
  static void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }
  json WaitSync(const std::string& id, const std::function<bool(const json&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    json s;
    do {
      s = SyncStatus(id);
      if (done(s)) return s;
      Pause();
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "sync did not settle: " << s.dump();
    return s;
  }
  json WaitSynced(const std::string& id) {
    return WaitSync(id, [](const json& s) { return s["syncStatus"] == "synced"; });
  }
  // One SQL query on the server's own database (sqlite3 or psql), its output as printed.
  std::string QueryDatabase(const std::string& sql) {
    const auto r = RunSql(dir_.path(), sql);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  json SimState() { return control_->Send("GET", "/__sim/state").Json(); }
  void Faults(const json& f) {
    ASSERT_EQ(
        control_->Send("PUT", "/__sim/faults", f.dump(), {{"Content-Type", "application/json"}})
            .status,
        200);
  }
  // Remote copies per assistantdId.
  std::map<std::string, int> RemoteCopies() {
    std::map<std::string, int> out;
    for (const auto& a : SimState()) {
      const auto meta = a.find("metadata");
      if (meta != a.end() && meta->is_object()) ++out[meta->value("assistantdId", "")];
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> sim_;
  std::unique_ptr<HttpClient> control_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> api_;
  std::string user_;
  std::string token_;
};

}  // namespace assistantd::testing
