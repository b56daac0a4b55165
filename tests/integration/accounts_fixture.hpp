#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/uuid.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {

// A server per test (its flags vary: limits, confirmation, reuse interval) with helpers for
// the Supabase Auth endpoints, called as @supabase/supabase-js calls them.
class AccountsTest : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  void Start(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--sync-workers", "0", "--publishable-key", kTestPublishableKey});
    server_ = ServerProcess::Start({.args = std::move(args)});
    client_ = std::make_unique<HttpClient>(server_->port());
  }

  static std::map<std::string, std::string> AuthHeaders(const std::string& bearer = "") {
    std::map<std::string, std::string> h = {{"Content-Type", "application/json;charset=UTF-8"},
                                            {"X-Supabase-Api-Version", "2024-01-01"},
                                            {"apikey", kTestPublishableKey}};
    if (!bearer.empty()) h["Authorization"] = "Bearer " + bearer;
    return h;
  }

  static std::string UniqueEmail() { return "u" + NewUuid().substr(0, 8) + "@example.com"; }

  HttpResult SignUp(const std::string& email, const std::string& password,
                    const json& data = json::object()) {
    return client_->Send("POST", "/auth/v1/signup",
                         json{{"email", email},
                              {"password", password},
                              {"data", data},
                              {"gotrue_meta_security", json::object()},
                              {"code_challenge", nullptr},
                              {"code_challenge_method", nullptr}}
                             .dump(),
                         AuthHeaders());
  }
  HttpResult SignIn(const std::string& email, const std::string& password) {
    return client_->Send(
        "POST", "/auth/v1/token?grant_type=password",
        json{{"email", email}, {"password", password}, {"gotrue_meta_security", json::object()}}
            .dump(),
        AuthHeaders());
  }
  HttpResult Refresh(const std::string& refresh_token) {
    return client_->Send("POST", "/auth/v1/token?grant_type=refresh_token",
                         json{{"refresh_token", refresh_token}}.dump(), AuthHeaders());
  }
  HttpResult GetUser(const std::string& access_token) {
    auto h = AuthHeaders(access_token);
    h.erase("Content-Type");
    return client_->Send("GET", "/auth/v1/user", "", h);
  }
  HttpResult PutUser(const std::string& access_token, const json& attributes) {
    json body = attributes;
    body["code_challenge"] = nullptr;
    body["code_challenge_method"] = nullptr;
    return client_->Send("PUT", "/auth/v1/user", body.dump(), AuthHeaders(access_token));
  }
  HttpResult Logout(const std::string& access_token, const std::string& scope) {
    return client_->Send("POST", "/auth/v1/logout?scope=" + scope, "", AuthHeaders(access_token));
  }
  // A signed-up user's session (asserting success).
  json NewSession(const std::string& email, const std::string& password = "correct horse") {
    const auto r = SignUp(email, password);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  std::string AdminToken() { return server_->Token(NewUuid(), "admin"); }
  // The error code GoTrue clients read (the body's "code" with the 2024 API version).
  static std::string Code(const HttpResult& r) { return r.Json().value("code", ""); }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace assistantd::testing
