// Real third-party clients, unchanged, against our servers: Vapi's official Node SDK
// (@vapi-ai/server-sdk, pinned in tests/clients/package.json) against vapi-sim.
#include <gtest/gtest.h>

#include <filesystem>

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

}  // namespace
}  // namespace assistantd::testing
