#include "config/config.hpp"

#include <gtest/gtest.h>

namespace assistantd::config {
namespace {

TEST(ConfigTest, ParsesListenAddresses) {
  EXPECT_EQ(ParseListen("127.0.0.1:8080")->port, 8080);
  EXPECT_EQ(ParseListen("localhost:0")->host, "127.0.0.1");
  EXPECT_EQ(ParseListen("[::1]:9000")->host, "::1");
  EXPECT_FALSE(ParseListen("8080"));
  EXPECT_FALSE(ParseListen("host:99999"));
  EXPECT_FALSE(ParseListen("host:http"));
}

TEST(ConfigTest, ParsesDurations) {
  EXPECT_EQ(ParseDuration("90"), 90);
  EXPECT_EQ(ParseDuration("15m"), 900);
  EXPECT_EQ(ParseDuration("1h"), 3600);
  EXPECT_EQ(ParseDuration("7d"), 604800);
  EXPECT_FALSE(ParseDuration("0s"));
  EXPECT_FALSE(ParseDuration("1w"));
  EXPECT_FALSE(ParseDuration(""));
}

TEST(ConfigTest, ValidatesValues) {
  ServeConfig c;
  EXPECT_TRUE(Validate(c));
  c.jwt_secret = std::string(31, 'x');
  EXPECT_FALSE(Validate(c));
  c.jwt_secret = std::string(32, 'x');
  EXPECT_TRUE(Validate(c));
  c.jwt_algorithm = "RS256";  // our tokens signed by the key ring's RS256 key
  EXPECT_TRUE(Validate(c));
  c.jwt_algorithm = "none";
  EXPECT_FALSE(Validate(c));
  c = ServeConfig{};
  c.jwt_algorithms = "ES256, RS256";
  EXPECT_TRUE(Validate(c));
  c.jwt_algorithms = "ES256,none";
  EXPECT_FALSE(Validate(c));
  c = ServeConfig{};
  c.jwks_url = "http://project.supabase.co/auth/v1/.well-known/jwks.json";
  EXPECT_FALSE(Validate(c));  // https only, except to loopback
  c.jwks_url = "https://project.supabase.co/auth/v1/.well-known/jwks.json";
  EXPECT_TRUE(Validate(c));
  c.jwks_url = "http://127.0.0.1:9999/jwks.json";
  EXPECT_TRUE(Validate(c));
  c.jwks_url = "http://[::1]:9999/jwks.json";
  EXPECT_TRUE(Validate(c));
  c.jwks_url = "http://127.0.0.1.example.com/jwks.json";
  EXPECT_FALSE(Validate(c));
  c = ServeConfig{};
  c.secret_keys = {"sb_publishable_abcdefghijklmnopqrstuv"};
  EXPECT_FALSE(Validate(c));
  c.secret_keys = {"sb_secret_abcdefghijklmnopqrstuv"};
  EXPECT_TRUE(Validate(c));
  c.public_url = "ftp://example.com";
  EXPECT_FALSE(Validate(c));
  c = ServeConfig{};
  c.log_level = "loud";
  EXPECT_FALSE(Validate(c));
  c = ServeConfig{};
  c.database_pool_size = -1;
  EXPECT_FALSE(Validate(c));
  c.database_pool_size = 16;
  EXPECT_TRUE(Validate(c));
  c.reconcile_interval = "sometimes";
  EXPECT_FALSE(Validate(c));
  c.reconcile_interval = "1h";
  EXPECT_TRUE(Validate(c));
}

TEST(ConfigTest, SqlitePathFromUrl) {
  ServeConfig c;
  c.data_dir = "/var/lib/x";
  EXPECT_EQ(SqlitePath(c), "/var/lib/x/assistantd.db");
  c.database_url = "sqlite:///tmp/a.db";
  EXPECT_EQ(SqlitePath(c), "/tmp/a.db");
  c.database_url = "sqlite:rel.db";
  EXPECT_EQ(SqlitePath(c), "rel.db");
  c.database_url = "mysql://x";
  EXPECT_FALSE(SqlitePath(c));
  EXPECT_FALSE(ResolveDatabase(c));
  c.database_url = "postgres://u:pw@h:5432/db";
  EXPECT_FALSE(SqlitePath(c));
  ASSERT_TRUE(ResolveDatabase(c));
  EXPECT_TRUE(ResolveDatabase(c)->postgres);
  EXPECT_EQ(ResolveDatabase(c)->location, c.database_url);
}

TEST(ConfigTest, RedactUrlMasksOnlyThePassword) {
  EXPECT_EQ(RedactUrl("postgres://u:pw@h:5432/db"),
            "postgres://u:\u2022\u2022\u2022\u2022@h:5432/db");
  EXPECT_EQ(RedactUrl("postgres://u@h/db"), "postgres://u@h/db");
  EXPECT_EQ(RedactUrl("postgres://h:5432/db"), "postgres://h:5432/db");
}

}  // namespace
}  // namespace assistantd::config
