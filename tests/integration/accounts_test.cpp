// Supabase-Auth-compatible accounts (C10): /auth/v1 as @supabase/supabase-js calls it, the
// admin user endpoints, and profiles. Runs on SQLite and (postgres: prefix) on PostgreSQL.
#include "integration/accounts_fixture.hpp"

namespace assistantd::testing {
namespace {

TEST_F(AccountsTest, SignUpReturnsASessionWhoseTokenUsesTheAssistantsApi) {
  Start();
  const std::string email = UniqueEmail();
  const auto r = SignUp(email, "correct horse", {{"name", "Ada"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-supabase-api-version"), "2024-01-01");
  const auto s = r.Json();
  EXPECT_EQ(s["token_type"], "bearer");
  EXPECT_EQ(s["expires_in"], 3600);
  EXPECT_TRUE(s["refresh_token"].is_string());
  EXPECT_EQ(s["user"]["email"], email);
  EXPECT_EQ(s["user"]["aud"], "authenticated");
  EXPECT_EQ(s["user"]["user_metadata"]["name"], "Ada");
  EXPECT_EQ(s["user"]["identities"].size(), 1u);
  EXPECT_FALSE(s["user"].contains("password_hash"));
  EXPECT_EQ(r.body.find("argon2"), std::string::npos);

  const std::string token = s["access_token"];
  const auto created =
      client_->Call("POST", "/functions/v1/assistants", token, R"({"name":"Mine"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json()["userId"], s["user"]["id"]);
  const auto me = GetUser(token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json()["id"], s["user"]["id"]);
  EXPECT_EQ(me.Json()["app_metadata"]["role"], "user");
}

// Every token we mint is one we accept: the largest metadata allowed, with the longest e-mail,
// still makes an access token under our own 8 KiB limit; one byte more metadata is refused.
TEST_F(AccountsTest, TheLargestAllowedMetadataStillMakesAUsableToken) {
  Start();
  const std::string label(59, 'b');
  const std::string email = std::string(64, 'a') + "@" + label + "." + label + "." + label +
                            NewUuid().substr(0, 1) + ".com";
  const auto sized = [](size_t bytes) { return json{{"k", std::string(bytes - 8, 'x')}}; };
  const auto too_big = SignUp(UniqueEmail(), "correct horse", sized(3 * 1024 + 1));
  EXPECT_EQ(too_big.status, 400) << too_big.body;
  const auto r = SignUp(email, "correct horse", sized(3 * 1024));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = r.Json()["user"]["id"];
  const auto app = client_->Call("PATCH", "/v1/admin/users/" + id, AdminToken(),
                                 json{{"appMetadata", sized(1024)}}.dump());
  ASSERT_EQ(app.status, 200) << app.body;
  const auto over = client_->Call("PATCH", "/v1/admin/users/" + id, AdminToken(),
                                  json{{"appMetadata", sized(1025)}}.dump());
  EXPECT_EQ(over.status, 400) << over.body;
  const auto refreshed = Refresh(r.Json()["refresh_token"]);
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  const std::string token = refreshed.Json()["access_token"];
  EXPECT_LE(token.size(), 8192u);
  const auto me = GetUser(token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json()["user_metadata"]["k"].get<std::string>().size(), 3 * 1024 - 8);
  EXPECT_EQ(client_->Call("GET", "/v1/assistants", token).status, 200);
}

// A malformed body is described, never quoted back: the password stays out of the answer.
TEST_F(AccountsTest, MalformedBodiesAreNotEchoedBack) {
  Start();
  for (const std::string body : {R"({"email":"a@example.com","password":"hunter2-secret)",
                                 R"({"email":"a@example.com","password":hunter2-secret})"}) {
    const auto r = client_->Send("POST", "/auth/v1/signup", body, AuthHeaders());
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.body.find("hunter2"), std::string::npos) << r.body;
  }
}

TEST_F(AccountsTest, DuplicateSignUpIsRefusedAndEmailsAreCaseInsensitive) {
  Start();
  const std::string email = UniqueEmail();
  ASSERT_EQ(SignUp(email, "correct horse").status, 200);
  std::string upper = email;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto again = SignUp(upper, "another password");
  EXPECT_EQ(again.status, 422) << again.body;
  EXPECT_EQ(Code(again), "user_already_exists");
  EXPECT_EQ(again.Json()["error_code"], "user_already_exists");
  EXPECT_EQ(again.Header("x-sb-error-code"), "user_already_exists");
  EXPECT_EQ(SignIn(upper, "correct horse").status, 200);
}

TEST_F(AccountsTest, WrongPasswordAndUnknownEmailGetTheSameAnswer) {
  Start();
  const std::string email = UniqueEmail();
  ASSERT_EQ(SignUp(email, "correct horse").status, 200);
  const auto wrong = SignIn(email, "wrong horse!");
  const auto unknown = SignIn(UniqueEmail(), "wrong horse!");
  ASSERT_EQ(wrong.status, 400);
  ASSERT_EQ(unknown.status, 400);
  auto a = wrong.Json();
  auto b = unknown.Json();
  a["error"].erase("requestId");
  b["error"].erase("requestId");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a["code"], "invalid_credentials");
  EXPECT_EQ(a["msg"], "Invalid login credentials");
}

TEST_F(AccountsTest, PasswordAndEmailRulesGiveGoTrueErrors) {
  Start();
  const auto short_pw = SignUp(UniqueEmail(), "short");
  EXPECT_EQ(short_pw.status, 422);
  EXPECT_EQ(Code(short_pw), "weak_password");
  EXPECT_EQ(short_pw.Json()["weak_password"]["reasons"], json::array({"length"}));
  const auto long_pw = SignUp(UniqueEmail(), std::string(73, 'x'));
  EXPECT_EQ(long_pw.status, 400);
  EXPECT_EQ(Code(long_pw), "validation_failed");
  const auto huge_pw = SignUp(UniqueEmail(), std::string(5000, 'x'));
  EXPECT_EQ(huge_pw.status, 400);
  for (const std::string bad :
       {"", "no-at-sign", "a@b", "two@@example.com", "sp ace@example.com"}) {
    const auto r = SignUp(bad, "correct horse");
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(Code(r), "validation_failed") << bad;
  }
  const auto unknown = client_->Send(
      "POST", "/auth/v1/signup",
      R"({"email":"x@example.com","password":"correct horse","admin":true})", AuthHeaders());
  EXPECT_EQ(unknown.status, 400);
  const auto not_json = client_->Send("POST", "/auth/v1/signup", "{", AuthHeaders());
  EXPECT_EQ(not_json.status, 400);
  // Nothing was created by the refused requests.
  EXPECT_EQ(SignIn("x@example.com", "correct horse").status, 400);
  const auto grant = client_->Send("POST", "/auth/v1/token?grant_type=magic", "{}", AuthHeaders());
  EXPECT_EQ(grant.status, 400);
  EXPECT_EQ(Code(grant), "invalid_credentials");
}

TEST_F(AccountsTest, RefreshRotatesAndReuseOfAnOldTokenEndsTheSession) {
  Start({"--refresh-reuse-interval", "0"});
  const auto s = NewSession(UniqueEmail());
  const std::string first = s["refresh_token"];
  const auto r1 = Refresh(first);
  ASSERT_EQ(r1.status, 200) << r1.body;
  const std::string second = r1.Json()["refresh_token"];
  EXPECT_NE(second, first);
  // The new access token keeps the session.
  EXPECT_EQ(GetUser(r1.Json()["access_token"]).status, 200);
  // A replay of the rotated token: the whole session (family) is revoked.
  const auto replay = Refresh(first);
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(Code(replay), "refresh_token_already_used");
  const auto live = Refresh(second);
  EXPECT_EQ(live.status, 400);
  EXPECT_EQ(Code(live), "refresh_token_not_found");
  EXPECT_EQ(GetUser(r1.Json()["access_token"]).status, 403);
  const auto empty = Refresh("");
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(Refresh("never-issued").status, 400);
}

TEST_F(AccountsTest, ImmediateParentReuseInsideTheIntervalIsTolerated) {
  // An interval no test run reaches: the tolerated case is checked without any timing.
  Start({"--refresh-reuse-interval", "3600"});
  const auto s = NewSession(UniqueEmail());
  const std::string first = s["refresh_token"];
  const auto r1 = Refresh(first);
  ASSERT_EQ(r1.status, 200);
  const auto again = Refresh(first);  // a second tab refreshing with the same token
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_NE(again.Json()["refresh_token"], r1.Json()["refresh_token"]);
  // Both children work; the grandparent rule still applies to tokens two steps back.
  const auto r2 = Refresh(r1.Json()["refresh_token"]);
  ASSERT_EQ(r2.status, 200);
  const auto r3 = Refresh(r2.Json()["refresh_token"]);
  ASSERT_EQ(r3.status, 200);
  // r1's token is now revoked and its child r2 is revoked too: not an immediate parent of a
  // live token, so reusing it ends the session.
  const auto replay = Refresh(r1.Json()["refresh_token"]);
  EXPECT_EQ(Code(replay), "refresh_token_already_used") << replay.body;
  EXPECT_EQ(Refresh(r3.Json()["refresh_token"]).status, 400);
}

TEST_F(AccountsTest, UpdateUserMergesMetadataAndAPasswordChangeEndsOtherSessions) {
  Start();
  const std::string email = UniqueEmail();
  const auto a = NewSession(email, "first password");
  const auto b_r = SignIn(email, "first password");
  ASSERT_EQ(b_r.status, 200);
  const auto b = b_r.Json();
  const std::string token = a["access_token"];

  auto r = PutUser(token, {{"data", {{"plan", "pro"}, {"theme", "dark"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  r = PutUser(token, {{"data", {{"theme", nullptr}}}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["user_metadata"]["plan"], "pro");
  EXPECT_FALSE(r.Json()["user_metadata"].contains("theme"));

  const auto admin_only = PutUser(token, {{"app_metadata", {{"role", "admin"}}}});
  EXPECT_EQ(admin_only.status, 403);
  EXPECT_EQ(Code(admin_only), "not_admin");
  const auto same = PutUser(token, {{"password", "first password"}});
  EXPECT_EQ(same.status, 422);
  EXPECT_EQ(Code(same), "same_password");

  ASSERT_EQ(PutUser(token, {{"password", "second password"}}).status, 200);
  EXPECT_EQ(GetUser(token).status, 200);  // this session survives
  EXPECT_EQ(Refresh(a["refresh_token"]).status, 200);
  const auto other = GetUser(b["access_token"]);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(Code(other), "session_not_found");
  EXPECT_EQ(Refresh(b["refresh_token"]).status, 400);
  EXPECT_EQ(SignIn(email, "first password").status, 400);
  EXPECT_EQ(SignIn(email, "second password").status, 200);

  // Changing the e-mail to one another account holds is refused.
  const std::string taken = UniqueEmail();
  NewSession(taken);
  const auto clash = PutUser(token, {{"email", taken}});
  EXPECT_EQ(clash.status, 422);
  EXPECT_EQ(Code(clash), "email_exists");
}

TEST_F(AccountsTest, LogoutScopes) {
  Start();
  const std::string email = UniqueEmail();
  const auto one = NewSession(email);
  const auto two = SignIn(email, "correct horse").Json();
  const auto three = SignIn(email, "correct horse").Json();
  const auto bad = Logout(one["access_token"], "everything");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Code(bad), "validation_failed");

  EXPECT_EQ(Logout(one["access_token"], "others").status, 204);
  EXPECT_EQ(Refresh(two["refresh_token"]).status, 400);
  EXPECT_EQ(Refresh(three["refresh_token"]).status, 400);
  const auto kept = Refresh(one["refresh_token"]);
  ASSERT_EQ(kept.status, 200);

  const auto four = SignIn(email, "correct horse").Json();
  EXPECT_EQ(Logout(kept.Json()["access_token"], "local").status, 204);
  EXPECT_EQ(Refresh(kept.Json()["refresh_token"]).status, 400);
  EXPECT_EQ(GetUser(four["access_token"]).status, 200);

  const auto five = SignIn(email, "correct horse").Json();
  EXPECT_EQ(Logout(four["access_token"], "global").status, 204);
  EXPECT_EQ(Refresh(five["refresh_token"]).status, 400);
  EXPECT_EQ(GetUser(five["access_token"]).status, 403);

  const auto none = client_->Send("POST", "/auth/v1/logout", "", AuthHeaders());
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(Code(none), "no_authorization");
  const auto forged = GetUser("not.a.jwt");
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(Code(forged), "bad_jwt");
}

TEST_F(AccountsTest, TokensOfEndedSessionsAreRefusedByTheApi) {
  Start();
  const std::string email = UniqueEmail();
  const auto one = NewSession(email);
  const auto two = SignIn(email, "correct horse").Json();
  ASSERT_EQ(client_->Call("GET", "/v1/assistants", one["access_token"]).status, 200);
  ASSERT_EQ(Logout(one["access_token"], "global").status, 204);
  for (const auto& s : {one, two}) {
    const auto r = client_->Call("GET", "/v1/assistants", s["access_token"]);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "session_not_found");
  }
  // A deleted user's token neither works nor brings the user back.
  const auto gone = NewSession(UniqueEmail());
  const std::string id = gone["user"]["id"];
  ASSERT_EQ(client_->Call("GET", "/v1/assistants", gone["access_token"]).status, 200);
  const std::string admin = AdminToken();
  ASSERT_EQ(client_->Call("DELETE", "/v1/admin/users/" + id, admin).status, 204);
  EXPECT_EQ(client_->Call("POST", "/v1/assistants", gone["access_token"], R"({"name":"x"})").status,
            401);
  EXPECT_EQ(client_->Call("GET", "/v1/admin/users/" + id, admin).status, 404);
  // Tokens minted for operators (no session) are unaffected.
  EXPECT_EQ(client_->Call("GET", "/v1/assistants", server_->Token(NewUuid())).status, 200);
}

TEST_F(AccountsTest, TheApikeyHeaderAuthenticatesLikeSupabaseKeys) {
  Start();
  // A legacy service_role key sent only as `apikey` (no Authorization) acts as the admin.
  const std::string service = server_->Token("", "service_role");
  const auto admin = client_->Send("GET", "/v1/admin/users", "", {{"apikey", service}});
  EXPECT_EQ(admin.status, 200) << admin.body;
  // A publishable key is no user: 401, as Supabase's gateway answers.
  const auto anon =
      client_->Send("GET", "/functions/v1/assistants", "", {{"apikey", kTestPublishableKey}});
  EXPECT_EQ(anon.status, 401);
  // With both, the Authorization header decides.
  const auto s = NewSession(UniqueEmail());
  const auto mine =
      client_->Send("GET", "/functions/v1/assistants", "",
                    {{"apikey", kTestPublishableKey},
                     {"Authorization", "Bearer " + s["access_token"].get<std::string>()}});
  EXPECT_EQ(mine.status, 200);
}

TEST_F(AccountsTest, EmailConfirmationWhenRequired) {
  Start({"--require-email-confirmation"});
  const std::string email = UniqueEmail();
  const auto r = SignUp(email, "correct horse");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto user = r.Json();
  EXPECT_FALSE(user.contains("access_token"));
  EXPECT_FALSE(user.contains("email_confirmed_at"));
  EXPECT_EQ(user["email"], email);
  // A repeat sign-up does not reveal that the address is taken.
  const auto again = SignUp(email, "other password");
  ASSERT_EQ(again.status, 200);
  EXPECT_NE(again.Json()["id"], user["id"]);
  EXPECT_EQ(again.Json()["identities"], json::array());

  const auto early = SignIn(email, "correct horse");
  EXPECT_EQ(early.status, 400);
  EXPECT_EQ(Code(early), "email_not_confirmed");
  const auto confirm = client_->Call("PATCH", "/v1/admin/users/" + user["id"].get<std::string>(),
                                     AdminToken(), R"({"emailConfirmed":true})");
  ASSERT_EQ(confirm.status, 200) << confirm.body;
  EXPECT_EQ(SignIn(email, "correct horse").status, 200);
  const auto settings = client_->Send("GET", "/auth/v1/settings", "", AuthHeaders());
  EXPECT_EQ(settings.Json()["mailer_autoconfirm"], false);
}

TEST_F(AccountsTest, AdminsManageUsersRolesBansAndDeletion) {
  Start();
  const std::string admin = AdminToken();
  const std::string email = UniqueEmail();
  const auto created = client_->Call(
      "POST", "/v1/admin/users", admin,
      json{{"email", email}, {"password", "correct horse"}, {"role", "premium"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  EXPECT_EQ(created.Json()["role"], "premium");
  EXPECT_FALSE(created.Json().contains("passwordHash"));
  EXPECT_EQ(client_
                ->Call("POST", "/v1/admin/users", admin,
                       json{{"email", email}, {"password", "correct horse"}}.dump())
                .status,
            409);

  const auto session = SignIn(email, "correct horse");
  ASSERT_EQ(session.status, 200);
  const std::string token = session.Json()["access_token"];
  EXPECT_EQ(session.Json()["user"]["app_metadata"]["role"], "premium");
  ASSERT_EQ(client_->Call("POST", "/v1/assistants", token, R"({"name":"Theirs"})").status, 201);
  // Users cannot use the admin endpoints.
  EXPECT_EQ(client_->Call("GET", "/v1/admin/users", token).status, 403);
  EXPECT_EQ(client_->Call("PATCH", "/v1/admin/users/" + id, token, R"({"role":"admin"})").status,
            403);

  // A role change shows in the next token.
  ASSERT_EQ(client_->Call("PATCH", "/v1/admin/users/" + id, admin, R"({"role":"test"})").status,
            200);
  const auto refreshed = Refresh(session.Json()["refresh_token"]);
  ASSERT_EQ(refreshed.status, 200);
  EXPECT_EQ(refreshed.Json()["user"]["app_metadata"]["role"], "test");
  const auto bad_role =
      client_->Call("PATCH", "/v1/admin/users/" + id, admin, R"({"role":"root"})");
  EXPECT_EQ(bad_role.status, 400);

  // A ban ends the sessions and refuses sign-ins until lifted.
  ASSERT_EQ(client_
                ->Call("PATCH", "/v1/admin/users/" + id, admin,
                       R"({"bannedUntil":"2999-01-01T00:00:00Z"})")
                .status,
            200);
  EXPECT_EQ(Refresh(refreshed.Json()["refresh_token"]).status, 400);
  const auto banned = SignIn(email, "correct horse");
  EXPECT_EQ(banned.status, 400);
  EXPECT_EQ(Code(banned), "user_banned");
  ASSERT_EQ(
      client_->Call("PATCH", "/v1/admin/users/" + id, admin, R"({"bannedUntil":null})").status,
      200);
  EXPECT_EQ(SignIn(email, "correct horse").status, 200);

  // Deletion cascades to the user's assistants.
  ASSERT_EQ(client_->Call("DELETE", "/v1/admin/users/" + id, admin).status, 204);
  EXPECT_EQ(client_->Call("GET", "/v1/admin/users/" + id, admin).status, 404);
  const auto list = client_->Call("GET", "/v1/assistants?q=Theirs", admin);
  EXPECT_EQ(list.Json()["data"].size(), 0u) << list.body;
  EXPECT_EQ(SignIn(email, "correct horse").status, 400);
}

TEST_F(AccountsTest, ProfilesHoldValidatedPreferences) {
  Start();
  const auto s = NewSession(UniqueEmail());
  const std::string token = s["access_token"];
  const auto empty = client_->Call("GET", "/v1/profile", token);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(empty.Json()["displayName"].is_null());

  const json patch = {{"displayName", "Ada"},
                      {"preferences",
                       {{"language", "fr-CA"},
                        {"timezone", "Europe/Paris"},
                        {"defaultVoice", {{"provider", "11labs"}, {"voiceId", "rachel"}}},
                        {"defaultModel", {{"provider", "openai"}, {"model", "gpt-4o"}}}}}};
  const auto ok = client_->Call("PATCH", "/v1/profile", token, patch.dump());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json()["preferences"]["defaultVoice"]["voiceId"], "rachel");

  for (const json& bad : {json{{"displayName", 3}}, json{{"displayName", std::string(101, 'a')}},
                          json{{"preferences", {{"language", "not a tag"}}}},
                          json{{"preferences", {{"timezone", "Mars/Olympus Mons"}}}},
                          json{{"preferences", {{"defaultVoice", {{"provider", "x"}}}}}},
                          json{{"preferences", {{"colour", "blue"}}}}, json{{"role", "admin"}}}) {
    const auto r = client_->Call("PATCH", "/v1/profile", token, bad.dump());
    EXPECT_EQ(r.status, 400) << bad.dump() << " " << r.body;
  }
  const auto after = client_->Call("GET", "/v1/profile", token).Json();
  EXPECT_EQ(after["displayName"], "Ada");
  EXPECT_EQ(after["role"], "user");
  EXPECT_EQ(after["preferences"], ok.Json()["preferences"]);

  const auto cleared = client_->Call("PATCH", "/v1/profile", token,
                                     R"({"displayName":null,"preferences":{"language":null}})");
  ASSERT_EQ(cleared.status, 200);
  EXPECT_TRUE(cleared.Json()["displayName"].is_null());
  EXPECT_TRUE(cleared.Json()["preferences"]["language"].is_null());
  EXPECT_EQ(cleared.Json()["preferences"]["timezone"], "Europe/Paris");
}

TEST_F(AccountsTest, SecretsNeverReachLogsOrAuditEntries) {
  Start();
  const std::string password = "unguessable-" + NewUuid();
  const auto s = NewSession(UniqueEmail(), password);
  const std::string refresh = s["refresh_token"];
  ASSERT_EQ(PutUser(s["access_token"], {{"password", password + "2"}}).status, 200);
  const auto trail = client_->Call("GET", "/v1/profile/audit", s["access_token"]);
  ASSERT_EQ(trail.status, 200);
  for (const auto& text : {trail.body, server_->Logs()}) {
    EXPECT_EQ(text.find(password), std::string::npos);
    EXPECT_EQ(text.find(refresh), std::string::npos);
    EXPECT_EQ(text.find("argon2id"), std::string::npos);
  }
}

}  // namespace
}  // namespace assistantd::testing
