#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/uuid.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {

// One real server per test suite (syncing off); each test makes its own users (fresh UUIDs),
// so tests do not see each other's assistants.
class ApiTest : public ::testing::Test {
 protected:
  // Syncing is off here: these suites check the API, and a worker writing syncError
  // concurrently would race their whole-object comparisons. tests/integration/sync_test.cpp
  // covers syncing.
  static void SetUpTestSuite() {
    // A failure here must fail every test of the suite (GoogleTest would report them as
    // skipped), so it is kept and raised by SetUp().
    try {
      server_ = ServerProcess::Start({.args = {"--sync-workers", "0"}}).release();
    } catch (const std::exception& e) {
      start_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    start_error_.clear();
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "the server did not start: " << start_error_;
    client_ = std::make_unique<HttpClient>(server_->port());
  }

  static ServerProcess& server() { return *server_; }
  HttpClient& client() { return *client_; }

  // A new user id with a token for `role`.
  struct Actor {
    std::string id;
    std::string token;
  };
  Actor NewActor(const std::string& role = "user") {
    Actor a{NewUuid(), ""};
    a.token = server_->Token(a.id, role);
    return a;
  }

  // Creates an assistant and returns its JSON (asserting 201).
  nlohmann::json CreateAssistant(const Actor& actor, const nlohmann::json& body,
                                 const std::string& prefix = "/v1/assistants") {
    const auto r = client().Call("POST", prefix, actor.token, body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.Json() : nlohmann::json::object();
  }

  // Number of assistants `actor` can list (walks every page).
  size_t CountVisible(const Actor& actor) {
    size_t n = 0;
    std::string cursor;
    for (;;) {
      const auto r = client().Call(
          "GET", "/v1/assistants?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor),
          actor.token);
      EXPECT_EQ(r.status, 200) << r.body;
      const auto page = r.Json();
      n += page["data"].size();
      if (page["nextCursor"].is_null()) return n;
      cursor = page["nextCursor"].get<std::string>();
    }
  }

  static inline ServerProcess* server_ = nullptr;
  static inline std::string start_error_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace assistantd::testing
