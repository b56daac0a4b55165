// Real third-party clients, unchanged, against our servers: Vapi's official Node SDK
// (@vapi-ai/server-sdk) against vapi-sim, and @supabase/supabase-js against assistantd (both
// pinned in tests/clients/package.json).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/uuid.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {
namespace {

TEST(VapiSdkClientTest, OfficialSdkRoundTripPassesAgainstVapiSim) {
  const std::string dir = CLIENTS_DIR;
  // `make test` runs `npm ci` here; a missing install is a failure, never a skip.
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/@vapi-ai/server-sdk"))
      << "run: npm ci --prefix tests/clients";
  auto sim = ServerProcess::StartVapiSim({"--api-key", "sdk-key"});
  const auto r = RunCommand({"/usr/bin/env", "node", dir + "/vapi_sdk_probe.mjs"},
                            {{"VAPI_BASE_URL", "http://127.0.0.1:" + std::to_string(sim->port())},
                             {"VAPI_TOKEN", "sdk-key"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("vapi sdk probe: ok"), std::string::npos) << r.out << r.err;
}

TEST(VapiSdkClientTest, CorpusBehavesTheSameThroughTheSdkAndThroughAssistantdSync) {
  const std::string dir = CLIENTS_DIR;
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/@vapi-ai/server-sdk"))
      << "run: npm ci --prefix tests/clients";
  auto sim = ServerProcess::StartVapiSim({"--api-key", "sdk-key"});
  const std::string sim_url = "http://127.0.0.1:" + std::to_string(sim->port());
  ServerProcess::Options o;
  o.args = {"--vapi-base-url",       sim_url, "--sync-backoff-base-ms", "20",
            "--max-assistants-user", "0",     "--rate-limit-user",      "0"};
  o.env["VAPI_API_KEY"] = "sdk-key";
  auto server = ServerProcess::Start(o);
  const auto r =
      RunCommand({"/usr/bin/env", "node", dir + "/vapi_sdk_corpus.mjs"},
                 {{"VAPI_BASE_URL", sim_url},
                  {"VAPI_TOKEN", "sdk-key"},
                  {"ASSISTANTD_URL", "http://127.0.0.1:" + std::to_string(server->port())},
                  {"ASSISTANTD_TOKEN", server->Token(NewUuid())},
                  {"CORPUS", CORPUS_PATH}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("vapi sdk corpus: 81 assistants, ok"), std::string::npos) << r.out << r.err;
}

TEST(SupabaseJsClientTest, AuthAndFunctionsFlowRunsUnchanged) {
  const std::string dir = CLIENTS_DIR;
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/@supabase/supabase-js"))
      << "run: npm ci --prefix tests/clients";
  auto server = ServerProcess::Start(
      {.args = {"--sync-workers", "0", "--publishable-key", kTestPublishableKey}});
  // Node 20 has no global WebSocket unless asked; supabase-js's realtime client needs one.
  const auto r =
      RunCommand({"/usr/bin/env", "node", "--experimental-websocket", dir + "/supabase_probe.mjs"},
                 {{"SUPABASE_URL", "http://127.0.0.1:" + std::to_string(server->port())},
                  {"SUPABASE_ANON_KEY", kTestPublishableKey}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("supabase probe: 16 passed, 0 failed"), std::string::npos) << r.out << r.err;
}

TEST(SupabaseJsClientTest, NewApiKeysSigningKeysAndAdminApiRunUnchanged) {
  const std::string dir = CLIENTS_DIR;
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/@supabase/supabase-js"))
      << "run: npm ci --prefix tests/clients";
  auto server = ServerProcess::Start(
      {.args = {"--sync-workers", "0", "--jwt-algorithm", "ES256", "--publishable-key",
                kTestPublishableKey, "--secret-key", kTestSecretKey}});
  const auto r = RunCommand(
      {"/usr/bin/env", "node", "--experimental-websocket", dir + "/supabase_keys_probe.mjs"},
      {{"SUPABASE_URL", "http://127.0.0.1:" + std::to_string(server->port())},
       {"SUPABASE_PUBLISHABLE_KEY", kTestPublishableKey},
       {"SUPABASE_SECRET_KEY", kTestSecretKey}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("supabase keys probe: 14 passed, 0 failed"), std::string::npos)
      << r.out << r.err;
  EXPECT_EQ(server->Logs().find(kTestSecretKey), std::string::npos) << "the secret key was logged";
}

// docs/openapi.yaml both ways against the router's table, and every documented operation sent
// to the real server with its answers validated against the document
// (tests/clients/openapi_conformance.mjs, Ajv).
TEST(OpenApiConformanceTest, EveryRouteIsDocumentedAndEveryOperationAnswersAsDocumented) {
  const std::string dir = CLIENTS_DIR;
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/ajv"))
      << "run: npm ci --prefix tests/clients";
  auto server = ServerProcess::Start(
      {.args = {"--sync-workers", "0", "--log-level", "debug", "--publishable-key",
                kTestPublishableKey, "--secret-key", kTestSecretKey}});
  // The router's table, as the server logs it at start.
  nlohmann::json routes;
  std::istringstream lines(server->Logs());
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (entry.is_object() && entry.value("msg", "") == "routes") routes = entry["routes"];
  }
  ASSERT_TRUE(routes.is_array() && routes.size() > 30) << server->Logs();
  const auto r =
      RunCommand({"/usr/bin/env", "node", dir + "/openapi_conformance.mjs"},
                 {{"ASSISTANTD_URL", "http://127.0.0.1:" + std::to_string(server->port())},
                  {"OPENAPI", OPENAPI_PATH},
                  {"ROUTES", routes.dump()},
                  {"USER_TOKEN", server->Token(NewUuid())},
                  {"ADMIN_TOKEN", server->Token(NewUuid(), "admin")},
                  {"PUBLISHABLE_KEY", kTestPublishableKey},
                  {"SECRET_KEY", kTestSecretKey}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(std::to_string(routes.size()) + " operations"), std::string::npos)
      << r.out << r.err;
  EXPECT_NE(r.out.find(", ok"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace assistantd::testing
