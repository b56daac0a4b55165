// C4 over HTTP: per-user isolation, the test role, admins and service_role.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "auth/jwt.hpp"
#include "integration/api_fixture.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

class RolesTest : public ApiTest {
 protected:
  std::string Url(const json& a) { return "/v1/assistants/" + a["id"].get<std::string>(); }

  static std::string SignClaims(const json& claims) {
    std::ifstream in(server().data_dir() + "/jwt-secret");
    std::stringstream s;
    s << in.rdbuf();
    auth::JwtSettings settings;
    settings.secret = s.str();
    return auth::SignJwt(settings, claims);
  }

  static json BaseClaims(const std::string& sub) {
    const int64_t now = SystemClock().NowSeconds();
    return {{"sub", sub},
            {"aud", "authenticated"},
            {"role", "authenticated"},
            {"iat", now},
            {"exp", now + 600}};
  }
};

TEST_F(RolesTest, AnotherUsersAssistantIs404AndUnchanged) {
  const auto alice = NewActor();
  const auto bob = NewActor();
  const auto a = CreateAssistant(alice, {{"name", "Alice's"}});
  EXPECT_EQ(client().Call("GET", Url(a), bob.token).status, 404);
  const auto patch = client().Call("PATCH", Url(a), bob.token, R"({"name":"Hijacked"})");
  EXPECT_EQ(patch.status, 404);
  EXPECT_EQ(patch.Json()["error"]["code"], "not_found");
  EXPECT_EQ(client().Call("DELETE", Url(a), bob.token).status, 404);
  EXPECT_EQ(client().Call("GET", Url(a), alice.token).Json(), a);
  EXPECT_EQ(CountVisible(bob), 0u);
  EXPECT_EQ(CountVisible(alice), 1u);
}

TEST_F(RolesTest, PremiumIsIsolatedLikeUser) {
  const auto alice = NewActor("premium");
  const auto bob = NewActor("premium");
  const auto a = CreateAssistant(alice, {{"name", "Premium"}});
  EXPECT_EQ(client().Call("GET", Url(a), bob.token).status, 404);
  EXPECT_EQ(client().Call("GET", Url(a), alice.token).status, 200);
}

TEST_F(RolesTest, TestRoleCreatesOnlyTestAssistants) {
  const auto tester = NewActor("test");
  const auto a = CreateAssistant(tester, {{"name", "T"}, {"metadata", {{"suite", "smoke"}}}});
  EXPECT_EQ(a["metadata"], (json{{"suite", "smoke"}, {"is_test", true}}));
  const auto b = CreateAssistant(tester, {{"metadata", {{"is_test", false}}}});
  EXPECT_EQ(b["metadata"]["is_test"], true);
}

TEST_F(RolesTest, TestRoleCannotClearTheTestFlag) {
  const auto tester = NewActor("test");
  const auto a = CreateAssistant(tester, {{"name", "T"}});
  for (const std::string patch : {R"({"metadata":{"is_test":false}})", R"({"metadata":null})",
                                  R"({"metadata":{"is_test":null}})"}) {
    const auto r = client().Call("PATCH", Url(a), tester.token, patch);
    EXPECT_EQ(r.status, 403) << patch;
    EXPECT_EQ(r.Json()["error"]["code"], "test_flag_required");
  }
  EXPECT_EQ(client().Call("GET", Url(a), tester.token).Json(), a);
}

TEST_F(RolesTest, TestRoleOnlyReachesTestAssistants) {
  // A user who later gets the test role cannot reach their own non-test rows through it.
  const std::string id = NewUuid();
  const Actor as_user{id, server().Token(id, "user")};
  const Actor as_test{id, server().Token(id, "test")};
  const auto real = CreateAssistant(as_user, {{"name", "Real"}});
  const auto flagged =
      CreateAssistant(as_user, {{"name", "Flagged"}, {"metadata", {{"is_test", true}}}});
  EXPECT_EQ(client().Call("GET", Url(real), as_test.token).status, 404);
  EXPECT_EQ(client().Call("DELETE", Url(real), as_test.token).status, 404);
  EXPECT_EQ(client().Call("GET", Url(flagged), as_test.token).status, 200);
  EXPECT_EQ(CountVisible(as_test), 1u);
  EXPECT_EQ(CountVisible(as_user), 2u);
  // Another tester sees neither.
  EXPECT_EQ(client().Call("GET", Url(flagged), NewActor("test").token).status, 404);
}

TEST_F(RolesTest, AdminSeesAndChangesEveryAssistant) {
  const auto alice = NewActor();
  const auto admin = NewActor("admin");
  const auto a = CreateAssistant(alice, {{"name", "Alice's"}});
  EXPECT_EQ(client().Call("GET", Url(a), admin.token).status, 200);
  const auto r = client().Call("PATCH", Url(a), admin.token, R"({"name":"Moderated"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["userId"], alice.id);
  EXPECT_EQ(client().Call("DELETE", Url(a), admin.token).status, 204);
}

TEST_F(RolesTest, AppMetadataRoleRefinesAuthenticated) {
  auto claims = BaseClaims(NewUuid());
  claims["app_metadata"] = {{"role", "admin"}};
  const auto alice = NewActor();
  const auto a = CreateAssistant(alice, {{"name", "A"}});
  EXPECT_EQ(client().Call("GET", Url(a), SignClaims(claims)).status, 200);
}

TEST_F(RolesTest, UserMetadataRoleIsIgnored) {
  auto claims = BaseClaims(NewUuid());
  claims["user_metadata"] = {{"role", "admin"}};
  const auto alice = NewActor();
  const auto a = CreateAssistant(alice, {{"name", "A"}});
  EXPECT_EQ(client().Call("GET", Url(a), SignClaims(claims)).status, 404);
}

TEST_F(RolesTest, AdminCreatesOnBehalfOfAUserWithOwnerId) {
  const auto admin = NewActor("admin");
  const auto alice = NewActor();
  const auto r = client().Call("POST", "/v1/assistants", admin.token,
                               json{{"name", "For Alice"}, {"ownerId", alice.id}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["userId"], alice.id);
  EXPECT_FALSE(r.Json().contains("ownerId"));
  EXPECT_EQ(CountVisible(alice), 1u);
}

TEST_F(RolesTest, OwnerIdIsRefusedForNonAdmins) {
  const auto alice = NewActor();
  const auto bob = NewActor();
  const auto r = client().Call("POST", "/v1/assistants", alice.token,
                               json{{"name", "Sneaky"}, {"ownerId", bob.id}}.dump());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Json()["error"]["code"], "forbidden_field");
  EXPECT_EQ(CountVisible(bob), 0u);
  EXPECT_EQ(CountVisible(alice), 0u);
}

TEST_F(RolesTest, ServiceRoleKeyWithoutSubOrAudActsAsAdmin) {
  const auto service = server().Token("", "service_role");
  const auto alice = NewActor();
  const auto a = CreateAssistant(alice, {{"name", "A"}});
  EXPECT_EQ(client().Call("GET", Url(a), service).status, 200);
  // Without a sub it must say whose assistant it creates.
  const auto missing = client().Call("POST", "/v1/assistants", service, R"({"name":"x"})");
  EXPECT_EQ(missing.status, 400);
  const auto made = client().Call("POST", "/v1/assistants", service,
                                  json{{"name", "x"}, {"ownerId", alice.id}}.dump());
  EXPECT_EQ(made.status, 201);
  EXPECT_EQ(client().Call("GET", "/v1/admin/users", service).status, 200);
}

TEST_F(RolesTest, AdminRoutesAre403ForOthers) {
  for (const char* role : {"user", "premium", "test"}) {
    const auto actor = NewActor(role);
    const auto r = client().Call("GET", "/v1/admin/users", actor.token);
    EXPECT_EQ(r.status, 403) << role;
    EXPECT_EQ(r.Json()["error"]["code"], "forbidden");
    EXPECT_EQ(client().Call("DELETE", "/v1/admin/users/" + actor.id, actor.token).status, 403);
  }
}

TEST_F(RolesTest, UserRowIsCreatedOnFirstRequest) {
  const auto admin = NewActor("admin");
  const auto alice = NewActor();
  EXPECT_EQ(client().Call("GET", "/v1/assistants", alice.token).status, 200);
  bool found = false;
  std::string cursor;
  for (;;) {
    const auto page =
        client()
            .Call("GET", "/v1/admin/users?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor),
                  admin.token)
            .Json();
    for (const auto& u : page["data"]) found = found || u["id"] == alice.id;
    if (page["nextCursor"].is_null()) break;
    cursor = page["nextCursor"];
  }
  EXPECT_TRUE(found);
}

TEST_F(RolesTest, DeletingAUserCascadesToTheirAssistants) {
  const auto admin = NewActor("admin");
  const auto alice = NewActor();
  const auto a = CreateAssistant(alice, {{"name", "A"}});
  const auto b = CreateAssistant(alice, {{"name", "B"}});
  EXPECT_EQ(client().Call("DELETE", "/v1/admin/users/" + alice.id, admin.token).status, 204);
  EXPECT_EQ(client().Call("GET", Url(a), admin.token).status, 404);
  EXPECT_EQ(client().Call("GET", Url(b), admin.token).status, 404);
  EXPECT_EQ(client().Call("DELETE", "/v1/admin/users/" + alice.id, admin.token).status, 404);
  // Alice's next request recreates her (empty) user row.
  EXPECT_EQ(CountVisible(alice), 0u);
}

}  // namespace
}  // namespace assistantd::testing
