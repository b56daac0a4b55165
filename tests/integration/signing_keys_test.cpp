// Supabase's current project setup over HTTP, on both backends: our own ES256 tokens with a
// published JWKS and rotation without refused tokens (assistantd keys), the new API keys in
// the apikey header as Supabase's gateway treats them, GoTrue's admin API, roles that are
// not ours, and functions.invoke's region.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "accounts_fixture.hpp"
#include "auth/jwt.hpp"
#include "common/clock.hpp"
#include "common/encoding.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

json Segment(const std::string& token, int index) {
  size_t start = 0;
  for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
  const size_t end = token.find('.', start);
  return json::parse(*Base64UrlDecode(token.substr(start, end - start)));
}

class SigningKeysTest : public AccountsTest {
 protected:
  CommandResult Keys(std::vector<std::string> args) {
    std::vector<std::string> argv = {ASSISTANTD_BINARY, "keys"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data-dir", server_->data_dir()});
    return RunCommand(argv);
  }
  json Jwks() {
    const auto r = client_->Send("GET", "/auth/v1/.well-known/jwks.json");
    EXPECT_EQ(r.status, 200);
    return r.Json();
  }
  std::vector<std::string> Kids() {
    std::vector<std::string> out;
    const json jwks = Jwks();
    for (const auto& k : jwks["keys"]) out.push_back(k["kid"]);
    return out;
  }
  int ListWith(const std::string& token) {
    return client_->Call("GET", "/v1/assistants", token).status;
  }
  std::string SignedWithSecret(const json& claims) {
    std::ifstream in(server_->data_dir() + "/jwt-secret");
    std::stringstream s;
    s << in.rdbuf();
    auth::JwtSettings settings;
    settings.secret = s.str();
    return auth::SignJwt(settings, claims);
  }
  static json UserClaims(const json& app_metadata) {
    const int64_t now = SystemClock().NowSeconds();
    return {{"sub", NewUuid()},
            {"aud", "authenticated"},
            {"role", "authenticated"},
            {"app_metadata", app_metadata},
            {"iat", now},
            {"exp", now + 600}};
  }
  std::map<std::string, std::string> Secret(const std::string& bearer = kTestSecretKey) {
    return {{"apikey", kTestSecretKey},
            {"Authorization", "Bearer " + bearer},
            {"Content-Type", "application/json"}};
  }
};

TEST_F(SigningKeysTest, OurTokensAreEs256WithAKidFromThePublishedJwks) {
  Start({"--jwt-algorithm", "ES256", "--public-url", "https://auth.example.com/"});
  const auto session = NewSession(UniqueEmail());
  const std::string token = session["access_token"];
  const json header = Segment(token, 0);
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["typ"], "JWT");
  EXPECT_EQ(Segment(token, 1)["iss"], "https://auth.example.com/auth/v1");
  const auto r = client_->Send("GET", "/auth/v1/.well-known/jwks.json");
  EXPECT_EQ(r.Header("cache-control"), "public, max-age=600");
  const json jwks = r.Json();
  ASSERT_EQ(jwks["keys"].size(), 1u);
  const json& key = jwks["keys"][0];
  EXPECT_EQ(key["kid"], header["kid"]);
  EXPECT_EQ(key["kty"], "EC");
  EXPECT_EQ(key["crv"], "P-256");
  EXPECT_EQ(key["key_ops"], json::array({"verify"}));
  EXPECT_FALSE(key.contains("d"));
  EXPECT_EQ(ListWith(token), 200);
  EXPECT_EQ(GetUser(token).status, 200);
  // The generated ring is private to the service's user.
  struct stat st {};
  ASSERT_EQ(::stat((server_->data_dir() + "/keys.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // `assistantd token` mints with the same key.
  EXPECT_EQ(Segment(server_->Token(NewUuid()), 0)["kid"], header["kid"]);
}

TEST_F(SigningKeysTest, KeysRotateWithoutRefusingAValidToken) {
  Start({"--jwt-algorithm", "ES256"});
  const std::string email = UniqueEmail();
  const std::string first_token = NewSession(email)["access_token"];
  const std::string first_kid = Segment(first_token, 0)["kid"];
  // A legacy HS256 token from before the switch keeps working too.
  const std::string legacy = SignedWithSecret(UserClaims(json::object()));
  EXPECT_EQ(ListWith(legacy), 200);

  // 1. A standby key is published before it signs anything.
  auto created = Keys({"create", "--algorithm", "ES256"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string second_kid = json::parse(created.out)["kid"];
  ASSERT_TRUE(server_->WaitForLog(R"("keys":2)"));
  EXPECT_EQ(Kids(), (std::vector<std::string>{first_kid, second_kid}));
  EXPECT_EQ(Segment(NewSession(UniqueEmail())["access_token"].get<std::string>(), 0)["kid"],
            first_kid);

  // 2. It goes into use: new tokens carry it, the old key's tokens still pass.
  ASSERT_EQ(Keys({"activate", second_kid}).exit_code, 0);
  ASSERT_TRUE(server_->WaitForLog(R"("inUse":")" + second_kid));
  const std::string second_token = SignIn(email, "correct horse").Json()["access_token"];
  EXPECT_EQ(Segment(second_token, 0)["kid"], second_kid);
  EXPECT_EQ(ListWith(first_token), 200);
  EXPECT_EQ(ListWith(second_token), 200);
  EXPECT_EQ(Kids(), (std::vector<std::string>{second_kid, first_kid}));

  // 3. The key in use cannot be revoked; the previous one can, and its tokens then fail.
  const auto refused = Keys({"revoke", second_kid});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("activate another key"), std::string::npos) << refused.err;
  ASSERT_EQ(Keys({"revoke", first_kid}).exit_code, 0);
  ASSERT_TRUE(server_->WaitForLog(R"("revoked":1)"));
  EXPECT_EQ(ListWith(first_token), 401);
  EXPECT_EQ(GetUser(first_token).status, 403);
  EXPECT_EQ(ListWith(second_token), 200);
  EXPECT_EQ(Kids(), (std::vector<std::string>{second_kid}));
  // 4. The legacy secret can be revoked once another key signs.
  EXPECT_EQ(ListWith(SignedWithSecret(UserClaims(json::object()))), 200);
  ASSERT_EQ(Keys({"revoke", "legacy"}).exit_code, 0);
  ASSERT_TRUE(server_->WaitForLog(R"("legacySecret":"revoked")"));
  EXPECT_EQ(ListWith(SignedWithSecret(UserClaims(json::object()))), 401);
  EXPECT_EQ(ListWith(second_token), 200);
  const auto list = json::parse(Keys({"list"}).out);
  EXPECT_EQ(list["legacySecret"]["status"], "revoked");
  EXPECT_EQ(list["signingKeys"][0]["status"], "revoked");
  EXPECT_EQ(list["signingKeys"][1]["status"], "in_use");
}

TEST_F(SigningKeysTest, AKeyRingGivenByEnvironmentSignsAndIsPublished) {
  // A ring made elsewhere (another instance's `keys export`), handed over as GOTRUE_JWT_KEYS.
  TempDir elsewhere;
  const auto keys = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {ASSISTANTD_BINARY, "keys"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data-dir", elsewhere.path()});
    return RunCommand(argv);
  };
  const auto created = keys({"create", "--algorithm", "RS256", "--activate"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string kid = json::parse(created.out)["kid"];
  const auto exported = keys({"export"});
  ASSERT_EQ(exported.exit_code, 0);
  const json ring = json::parse(exported.out);
  ASSERT_EQ(ring.size(), 1u);
  EXPECT_EQ(ring[0]["key_ops"], json::array({"sign", "verify"}));
  server_.reset();
  server_ = ServerProcess::Start(
      {.args = {"--sync-workers", "0", "--publishable-key", kTestPublishableKey},
       .env = {{"ASSISTANTD_JWT_KEYS", exported.out}}});
  client_ = std::make_unique<HttpClient>(server_->port());
  const std::string token = NewSession(UniqueEmail())["access_token"];
  EXPECT_EQ(Segment(token, 0)["alg"], "RS256");
  EXPECT_EQ(Segment(token, 0)["kid"], kid);
  EXPECT_EQ(Kids(), std::vector<std::string>{kid});
  EXPECT_EQ(ListWith(token), 200);
  // That ring is managed where it is defined: the CLI refuses to change it here.
  const auto refused =
      RunCommand({ASSISTANTD_BINARY, "keys", "create", "--data-dir", server_->data_dir()},
                 {{"ASSISTANTD_JWT_KEYS", exported.out}});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(server_->Logs().find(ring[0]["d"].get<std::string>()), std::string::npos);
}

TEST_F(SigningKeysTest, ApiKeysWorkAsSupabasesGatewayHandlesThem) {
  Start({"--secret-key", kTestSecretKey});
  const std::string user = NewSession(UniqueEmail())["access_token"];
  // A secret key is the service role, alone or sent as supabase-js sends it.
  EXPECT_EQ(client_->Send("GET", "/v1/admin/users", "", {{"apikey", kTestSecretKey}}).status, 200);
  EXPECT_EQ(client_->Send("GET", "/v1/admin/users", "", Secret()).status, 200);
  // An sb_ key is a Bearer credential only when it is also the apikey.
  EXPECT_EQ(client_
                ->Send("GET", "/v1/admin/users", "",
                       {{"Authorization", std::string("Bearer ") + kTestSecretKey}})
                .status,
            401);
  EXPECT_EQ(client_
                ->Send("GET", "/v1/admin/users", "",
                       {{"apikey", kTestPublishableKey},
                        {"Authorization", std::string("Bearer ") + kTestSecretKey}})
                .status,
            401);
  // A user's token wins over the key, so a secret key does not make a user an admin.
  EXPECT_EQ(client_
                ->Send("GET", "/v1/admin/users", "",
                       {{"apikey", kTestSecretKey}, {"Authorization", "Bearer " + user}})
                .status,
            403);
  // A publishable key is the app, not a user.
  EXPECT_EQ(client_->Send("GET", "/functions/v1/assistants", "", {{"apikey", kTestPublishableKey}})
                .status,
            401);
  EXPECT_EQ(client_
                ->Send("GET", "/functions/v1/assistants", "",
                       {{"apikey", kTestPublishableKey}, {"Authorization", "Bearer " + user}})
                .status,
            200);
  // Keys we do not know are refused everywhere, with or without a user token.
  for (const std::string bogus : {"sb_publishable_AsSiStAnTdTeStKeY000001_x1y2z3w5",
                                  "sb_secret_AsSiStAnTdTeStKeY000002_a1b2c3d5", "sb_anything"}) {
    const auto api = client_->Send("GET", "/functions/v1/assistants", "",
                                   {{"apikey", bogus}, {"Authorization", "Bearer " + user}});
    EXPECT_EQ(api.status, 401) << bogus;
    EXPECT_EQ(api.Json()["error"]["code"], "invalid_api_key");
    auto h = AuthHeaders();
    h["apikey"] = bogus;
    const auto signup =
        client_->Send("POST", "/auth/v1/signup",
                      json{{"email", UniqueEmail()}, {"password", "correct horse"}}.dump(), h);
    EXPECT_EQ(signup.status, 401) << bogus;
    EXPECT_EQ(Code(signup), "invalid_api_key");
  }
  // /auth/v1 needs a key once keys are configured; the JWKS never does.
  const auto bare = client_->Send("POST", "/auth/v1/token?grant_type=password",
                                  R"({"email":"x@example.com","password":"y"})",
                                  {{"Content-Type", "application/json"}});
  EXPECT_EQ(bare.status, 401);
  EXPECT_EQ(Code(bare), "no_api_key");
  EXPECT_EQ(client_->Send("GET", "/auth/v1/.well-known/jwks.json").status, 200);
  // A secret key from a browser is refused.
  auto browser = Secret();
  browser["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0";
  EXPECT_EQ(client_->Send("GET", "/v1/admin/users", "", browser).status, 401);
  EXPECT_EQ(server_->Logs().find(kTestSecretKey), std::string::npos) << "a secret key was logged";
}

TEST_F(SigningKeysTest, GeneratedApiKeysWorkAtOnceAndCanBeRevoked) {
  Start();
  const auto created = Keys({"api-key-create", "--type", "secret", "--name", "ci"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const json info = json::parse(created.out);
  const std::string key = info["key"];
  EXPECT_TRUE(key.starts_with("sb_secret_"));
  ASSERT_TRUE(server_->WaitForLog(R"("apiKeys":1)"));
  EXPECT_EQ(client_->Send("GET", "/v1/admin/users", "", {{"apikey", key}}).status, 200);
  // Only a digest is on disk.
  std::ifstream in(server_->data_dir() + "/keys.json");
  std::stringstream ring;
  ring << in.rdbuf();
  EXPECT_EQ(ring.str().find(key), std::string::npos);
  ASSERT_EQ(Keys({"api-key-revoke", info["id"]}).exit_code, 0);
  ASSERT_TRUE(server_->WaitForLog(R"("apiKeys":0)"));
  EXPECT_EQ(client_->Send("GET", "/v1/admin/users", "", {{"apikey", key}}).status, 401);
  EXPECT_EQ(server_->Logs().find(key), std::string::npos);
}

TEST_F(SigningKeysTest, GoTruesAdminApiIsForTheServiceRole) {
  Start({"--secret-key", kTestSecretKey});
  const std::string user_token = NewSession(UniqueEmail())["access_token"];
  auto with_user = AuthHeaders(user_token);
  const auto not_admin = client_->Send("GET", "/auth/v1/admin/users", "", with_user);
  EXPECT_EQ(not_admin.status, 403);
  EXPECT_EQ(Code(not_admin), "not_admin");
  // The publishable key alone is the anon role (what Supabase's gateway makes of it).
  const auto app_only = client_->Send("GET", "/auth/v1/admin/users", "", AuthHeaders());
  EXPECT_EQ(app_only.status, 403);
  EXPECT_EQ(Code(app_only), "not_admin");
  const auto nobody = client_->Send("GET", "/auth/v1/admin/users");
  EXPECT_EQ(nobody.status, 401);
  EXPECT_EQ(Code(nobody), "no_api_key");

  // Create (unconfirmed unless asked), banned for an hour.
  const std::string email = UniqueEmail();
  const auto created = client_->Send("POST", "/auth/v1/admin/users",
                                     json{{"email", email},
                                          {"password", "pw"},
                                          {"email_confirm", true},
                                          {"ban_duration", "1h"},
                                          {"user_metadata", {{"name", "Eve"}}},
                                          {"app_metadata", {{"plan", "pro"}, {"role", "premium"}}}}
                                         .dump(),
                                     Secret());
  ASSERT_EQ(created.status, 200) << created.body;
  const json user = created.Json();
  EXPECT_EQ(user["email"], email);
  EXPECT_EQ(user["app_metadata"]["plan"], "pro");
  EXPECT_EQ(user["app_metadata"]["role"], "premium");
  EXPECT_TRUE(user.contains("banned_until"));
  EXPECT_EQ(Code(SignIn(email, "pw")), "user_banned");
  const std::string id = user["id"];
  const auto unbanned =
      client_->Send("PUT", "/auth/v1/admin/users/" + id, R"({"ban_duration":"none"})", Secret());
  ASSERT_EQ(unbanned.status, 200) << unbanned.body;
  EXPECT_EQ(SignIn(email, "pw").status, 200);
  EXPECT_EQ(client_->Send("PUT", "/auth/v1/admin/users/" + id, R"({"ban_duration":"3d"})", Secret())
                .status,
            400);
  // An update's password follows the policy.
  EXPECT_EQ(
      Code(client_->Send("PUT", "/auth/v1/admin/users/" + id, R"({"password":"short"})", Secret())),
      "weak_password");
  // A taken address.
  const auto taken =
      client_->Send("POST", "/auth/v1/admin/users", json{{"email", email}}.dump(), Secret());
  EXPECT_EQ(taken.status, 422);
  EXPECT_EQ(Code(taken), "email_exists");

  // Pages, newest first, with GoTrue's headers.
  const auto page = client_->Send("GET", "/auth/v1/admin/users?page=1&per_page=1", "", Secret());
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Json()["users"].size(), 1u);
  EXPECT_EQ(page.Json()["users"][0]["id"], id);
  EXPECT_EQ(page.Json()["aud"], "authenticated");
  const int total = std::stoi(page.Header("x-total-count"));
  EXPECT_GE(total, 2);
  EXPECT_EQ(page.Header("link"),
            "</auth/v1/admin/users?page=2&per_page=1>; rel=\"next\", "
            "</auth/v1/admin/users?page=" +
                std::to_string(total) + "&per_page=1>; rel=\"last\"");
  EXPECT_EQ(client_->Send("GET", "/auth/v1/admin/users?page=x", "", Secret()).status, 400);

  // Soft deletion keeps the row but no way in; hard deletion removes it.
  const auto soft = client_->Send("DELETE", "/auth/v1/admin/users/" + id,
                                  R"({"should_soft_delete":true})", Secret());
  ASSERT_EQ(soft.status, 200) << soft.body;
  EXPECT_EQ(SignIn(email, "pw").status, 400);
  EXPECT_EQ(client_->Send("GET", "/auth/v1/admin/users/" + id, "", Secret()).Json()["email"], "");
  EXPECT_EQ(client_
                ->Send("DELETE", "/auth/v1/admin/users/" + id, R"({"should_soft_delete":false})",
                       Secret())
                .status,
            200);
  const auto gone = client_->Send("GET", "/auth/v1/admin/users/" + id, "", Secret());
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(Code(gone), "user_not_found");
  EXPECT_EQ(client_->Send("GET", "/auth/v1/admin/users/not-a-uuid", "", Secret()).status, 404);
  // Every change is in the audit trail, made by the service role.
  const auto audit =
      client_->Send("GET", "/v1/admin/audit?user=" + id, "", {{"apikey", kTestSecretKey}});
  ASSERT_EQ(audit.status, 200) << audit.body;
  std::vector<std::string> actions;
  const json trail = audit.Json();
  for (const auto& e : trail["data"]) actions.push_back(e["action"]);
  for (const char* a : {"user.create", "user.update", "user.soft_delete", "user.delete"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
  }
}

TEST_F(SigningKeysTest, RolesThatAreNotOursAreUsersUnlessStrict) {
  Start();
  const std::string editor = SignedWithSecret(UserClaims({{"role", "editor"}}));
  EXPECT_EQ(ListWith(editor), 200);
  EXPECT_EQ(client_->Call("GET", "/v1/admin/users", editor).status, 403);
  // functions.invoke(..., { region }) adds forceFunctionRegion and x-region.
  const auto region = client_->Call("GET", "/functions/v1/assistants?forceFunctionRegion=eu-west-1",
                                    editor, "", {{"x-region", "eu-west-1"}});
  EXPECT_EQ(region.status, 200) << region.body;
  const auto posted =
      client_->Call("POST", "/functions/v1/assistants?forceFunctionRegion=us-east-1", editor,
                    R"({"name":"Regional"})");
  EXPECT_EQ(posted.status, 201) << posted.body;
  // Only on /functions/v1: elsewhere an unknown query parameter is still refused.
  EXPECT_EQ(client_->Call("GET", "/v1/assistants?forceFunctionRegion=eu-west-1", editor).status,
            400);
  server_.reset();
  Start({"--strict-roles"});
  const auto strict =
      client_->Call("GET", "/v1/assistants", SignedWithSecret(UserClaims({{"role", "editor"}})));
  EXPECT_EQ(strict.status, 403);
  EXPECT_EQ(strict.Json()["error"]["code"], "unknown_role");
}

}  // namespace
}  // namespace assistantd::testing
