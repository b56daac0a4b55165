// The assistantd command line: subcommands, configuration precedence and start-up errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace assistantd::testing {
namespace {

TEST(CliTest, VersionPrintsTheVersion) {
  const auto r = RunCommand({AssistantdBinary(), "version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("assistantd ", 0), 0u);
}

TEST(CliTest, HelpDocumentsEverySubcommand) {
  const auto r = RunCommand({AssistantdBinary(), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"serve", "migrate", "token", "version"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  }
  const auto serve = RunCommand({AssistantdBinary(), "serve", "--help"});
  for (const char* flag : {"--listen", "--data-dir", "--database-url", "--jwt-secret",
                           "--log-level", "--threads", "ASSISTANTD_LISTEN"}) {
    EXPECT_NE(serve.out.find(flag), std::string::npos) << flag;
  }
}

TEST(CliTest, MigrateCreatesTheSchema) {
  TempDir dir;
  const auto r = RunCommand({AssistantdBinary(), "migrate", "--data-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("schema version "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("0001_initial"), std::string::npos) << r.err;  // logged as applied
  // Running it again applies nothing and reports the same version.
  const auto again = RunCommand({AssistantdBinary(), "migrate", "--data-dir", dir.path()});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, r.out);
  EXPECT_EQ(again.err.find("migration applied"), std::string::npos) << again.err;
}

TEST(CliTest, ShortJwtSecretIsRefusedAtStart) {
  TempDir dir;
  const auto r = RunCommand({AssistantdBinary(), "serve", "--listen", "127.0.0.1:0", "--data-dir",
                             dir.path(), "--jwt-secret", "too-short"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("at least 32 bytes"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("too-short"), std::string::npos);  // the secret is not echoed
}

TEST(CliTest, ShortSecretFromEnvironmentIsRefusedToo) {
  TempDir dir;
  const auto r = RunCommand({AssistantdBinary(), "serve", "--data-dir", dir.path()},
                            {{"ASSISTANTD_JWT_SECRET", "short"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("at least 32 bytes"), std::string::npos);
}

TEST(CliTest, BadListenAddressIsOneClearLine) {
  const auto r = RunCommand({AssistantdBinary(), "serve", "--listen", "nonsense"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HOST:PORT"), std::string::npos);
}

TEST(CliTest, PortInUseIsOneClearLine) {
  auto first = ServerProcess::Start({});
  TempDir dir;
  const auto r = RunCommand({AssistantdBinary(), "serve", "--data-dir", dir.path(), "--listen",
                             "127.0.0.1:" + std::to_string(first->port())});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot listen"), std::string::npos) << r.err;
}

TEST(CliTest, AnUnreachablePostgresIsOneClearLine) {
  // Nothing listens on port 1; the password must not be echoed.
  const auto r = RunCommand({AssistantdBinary(), "migrate", "--database-url",
                             "postgres://u:s3cret-pw@127.0.0.1:1/db?connect_timeout=5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find("s3cret-pw"), std::string::npos) << r.err;
}

TEST(CliTest, AnUnknownDatabaseSchemeIsRefused) {
  const auto r = RunCommand({AssistantdBinary(), "migrate", "--database-url", "mysql://x/y"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("sqlite: or postgres://"), std::string::npos) << r.err;
}

TEST(CliTest, TokenNeedsAUuidSubAndAKnownRole) {
  TempDir dir;
  EXPECT_EQ(
      RunCommand({AssistantdBinary(), "token", "--data-dir", dir.path(), "--sub", "x"}).exit_code,
      1);
  EXPECT_EQ(RunCommand({AssistantdBinary(), "token", "--data-dir", dir.path()}).exit_code, 1);
  EXPECT_EQ(RunCommand({AssistantdBinary(), "token", "--data-dir", dir.path(), "--sub",
                        "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f", "--role", "root"})
                .exit_code,
            1);
  EXPECT_EQ(RunCommand({AssistantdBinary(), "token", "--data-dir", dir.path(), "--sub",
                        "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f", "--ttl", "forever"})
                .exit_code,
            1);
}

TEST(CliTest, ConfiguredSecretSignsTokensTheServerAccepts) {
  const std::string secret(48, 's');
  auto server = ServerProcess::Start({.env = {{"ASSISTANTD_JWT_SECRET", secret}}});
  const std::string token = server->Token("6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f");
  HttpClient c(server->port());
  EXPECT_EQ(c.Call("GET", "/v1/assistants", token).status, 200);
  // The data dir holds no generated secret when one is configured.
  EXPECT_FALSE(std::ifstream(server->data_dir() + "/jwt-secret").good());
}

TEST(CliTest, FlagBeatsEnvironmentBeatsConfigFile) {
  TempDir dir;
  const std::string file = dir.path() + "/assistantd.env";
  std::ofstream(file) << "# comment\nASSISTANTD_LOG_LEVEL=nonsense-from-file\n"
                         "ASSISTANTD_JWT_SECRET="
                      << std::string(40, 'f') << "\n";
  // File value alone is used (and here is invalid).
  auto r = RunCommand({AssistantdBinary(), "migrate", "--config", file, "--data-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--log-level"), std::string::npos) << r.err;
  // The environment overrides the file.
  r = RunCommand({AssistantdBinary(), "migrate", "--config", file, "--data-dir", dir.path()},
                 {{"ASSISTANTD_LOG_LEVEL", "warn"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A flag overrides both.
  r = RunCommand({AssistantdBinary(), "migrate", "--config", file, "--data-dir", dir.path(),
                  "--log-level", "error"},
                 {{"ASSISTANTD_LOG_LEVEL", "bogus-from-env"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliTest, UnknownConfigKeyIsRefused) {
  TempDir dir;
  const std::string file = dir.path() + "/bad.env";
  std::ofstream(file) << "LISTEN=1\n";
  const auto r = RunCommand({AssistantdBinary(), "migrate", "--config", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown key"), std::string::npos);
}

}  // namespace
}  // namespace assistantd::testing
