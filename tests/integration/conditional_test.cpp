// Conditional requests (RFC 9110 §13) over HTTP: ETags on every read of user data, 304 on
// If-None-Match, 412 on a stale If-Match (checked inside the write's transaction), 428 under
// --require-if-match.

#include <atomic>
#include <thread>
#include <vector>

#include "integration/api_fixture.hpp"

namespace assistantd::testing {
namespace {

class ConditionalTest : public ApiTest {
 protected:
  std::string Path(const nlohmann::json& a) {
    return "/v1/assistants/" + a["id"].get<std::string>();
  }

  HttpResult Get(const Actor& actor, const std::string& path,
                 std::map<std::string, std::string> headers = {}) {
    return client().Call("GET", path, actor.token, "", std::move(headers));
  }
  HttpResult Patch(const Actor& actor, const std::string& path, const nlohmann::json& body,
                   std::map<std::string, std::string> headers = {}) {
    return client().Call("PATCH", path, actor.token, body.dump(), std::move(headers));
  }
};

TEST_F(ConditionalTest, SingleAssistantsCarryAStrongEtagThatChangesOnlyWithTheRepresentation) {
  const auto alice = NewActor();
  const auto created = CreateAssistant(alice, {{"name", "etag bot"}});
  const auto first = Get(alice, Path(created));
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.Header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"') << "strong, not W/: " << etag;
  EXPECT_EQ(first.Header("cache-control"), "private, no-cache");
  EXPECT_EQ(Get(alice, Path(created)).Header("etag"), etag) << "nothing changed";

  // The write's own answer is the new representation, with its tag.
  const auto patched = Patch(alice, Path(created), {{"firstMessage", "Hello"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_NE(patched.Header("etag"), etag);
  EXPECT_EQ(Get(alice, Path(created)).Header("etag"), patched.Header("etag"));

  // A projection is a representation of its own.
  const auto projected = Get(alice, Path(created) + "?fields=name");
  EXPECT_NE(projected.Header("etag"), patched.Header("etag"));
  EXPECT_EQ(projected.Header("etag").front(), '"');
}

TEST_F(ConditionalTest, IfNoneMatchAnswers304WithTheValidatorsAndNoBody) {
  const auto alice = NewActor();
  const auto path = Path(CreateAssistant(alice, {{"name", "revalidated"}}));
  const std::string etag = Get(alice, path).Header("etag");

  for (const std::string& header :
       std::vector<std::string>{etag, "\"other\", " + etag, "*", "W/" + etag, " " + etag + " "}) {
    const auto r = Get(alice, path, {{"If-None-Match", header}});
    EXPECT_EQ(r.status, 304) << header;
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.Header("etag"), etag);
    EXPECT_EQ(r.Header("cache-control"), "private, no-cache");
    EXPECT_FALSE(r.HasHeader("content-type"));
  }
  for (const std::string& header :
       std::vector<std::string>{"\"other\"", "W/\"other\"", "garbage", etag + " junk", ""}) {
    const auto r = Get(alice, path, {{"If-None-Match", header}});
    EXPECT_EQ(r.status, 200) << header;
    EXPECT_EQ(r.Header("etag"), etag);
  }
}

TEST_F(ConditionalTest, A304CarriesNoContentLength) {
  const auto alice = NewActor();
  const auto path = Path(CreateAssistant(alice, {{"name", "raw"}}));
  const std::string etag = Get(alice, path).Header("etag");
  const std::string raw =
      RawExchange(server().port(),
                  "GET " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice.token +
                      "\r\nIf-None-Match: " + etag + "\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 304")) << raw;
  EXPECT_EQ(raw.find("Content-Length"), std::string::npos) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << "no body: " << raw;
}

TEST_F(ConditionalTest, ListsAndTheProfileCarryWeakEtagsAndRevalidate) {
  const auto alice = NewActor();
  CreateAssistant(alice, {{"name", "listed"}});
  for (const std::string path : {"/v1/assistants", "/v1/assistants?limit=1", "/v1/profile"}) {
    const auto r = Get(alice, path);
    ASSERT_EQ(r.status, 200) << path << r.body;
    const std::string etag = r.Header("etag");
    EXPECT_TRUE(etag.starts_with("W/\"")) << path << ": " << etag;
    EXPECT_EQ(r.Header("cache-control"), "private, no-cache");
    EXPECT_EQ(Get(alice, path, {{"If-None-Match", etag}}).status, 304) << path;
  }
  const std::string before = Get(alice, "/v1/assistants").Header("etag");
  CreateAssistant(alice, {{"name", "another"}});
  const auto after = Get(alice, "/v1/assistants", {{"If-None-Match", before}});
  EXPECT_EQ(after.status, 200) << "the page changed";
  EXPECT_NE(after.Header("etag"), before);
}

TEST_F(ConditionalTest, AStaleIfMatchIs412WithTheCurrentEtagAndChangesNothing) {
  const auto alice = NewActor();
  const auto path = Path(CreateAssistant(alice, {{"name", "guarded"}}));
  const auto current = Get(alice, path);
  const std::string etag = current.Header("etag");

  for (const std::string& stale : std::vector<std::string>{"\"stale\"", "W/" + etag, "garbage"}) {
    const auto r = Patch(alice, path, {{"name", "lost update"}}, {{"If-Match", stale}});
    EXPECT_EQ(r.status, 412) << stale << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "precondition_failed");
    EXPECT_EQ(r.Header("etag"), etag);
    EXPECT_EQ(client().Call("DELETE", path, alice.token, "", {{"If-Match", stale}}).status, 412);
    EXPECT_EQ(client().Call("POST", path + "/sync", alice.token, "", {{"If-Match", stale}}).status,
              412);
  }
  const auto unchanged = Get(alice, path);
  EXPECT_EQ(unchanged.body, current.body);
  EXPECT_EQ(unchanged.Header("etag"), etag);

  const auto applied = Patch(alice, path, {{"name", "seen"}}, {{"If-Match", "\"x\", " + etag}});
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(applied.Json()["name"], "seen");
  // The tag just used is stale now.
  EXPECT_EQ(Patch(alice, path, {{"name", "again"}}, {{"If-Match", etag}}).status, 412);
  const std::string next = applied.Header("etag");
  EXPECT_EQ(client().Call("POST", path + "/sync", alice.token, "", {{"If-Match", next}}).status,
            202);
  const std::string after_sync = Get(alice, path).Header("etag");
  EXPECT_EQ(Patch(alice, path, {{"name", "any"}}, {{"If-Match", "*"}}).status, 200);
  EXPECT_EQ(client().Call("DELETE", path, alice.token, "", {{"If-Match", after_sync}}).status, 412);
  EXPECT_EQ(
      client()
          .Call("DELETE", path, alice.token, "", {{"If-Match", Get(alice, path).Header("etag")}})
          .status,
      204);
}

TEST_F(ConditionalTest, AnotherUsersAssistantIs404WhateverTheConditions) {
  const auto alice = NewActor();
  const auto bob = NewActor();
  const auto path = Path(CreateAssistant(alice, {{"name", "private"}}));
  const std::string etag = Get(alice, path).Header("etag");
  EXPECT_EQ(Get(bob, path, {{"If-None-Match", etag}}).status, 404);
  EXPECT_EQ(Get(bob, path, {{"If-None-Match", "*"}}).status, 404);
  EXPECT_EQ(Patch(bob, path, {{"name", "x"}}, {{"If-Match", etag}}).status, 404);
  EXPECT_EQ(Patch(bob, path, {{"name", "x"}}, {{"If-Match", "\"stale\""}}).status, 404);
  EXPECT_EQ(client().Call("DELETE", path, bob.token, "", {{"If-Match", etag}}).status, 404);
  EXPECT_EQ(client().Call("POST", path + "/sync", bob.token, "", {{"If-Match", etag}}).status, 404);
  EXPECT_EQ(Get(alice, path).Header("etag"), etag);
}

TEST_F(ConditionalTest, OfConcurrentWritersWithTheSameEtagExactlyOneSucceeds) {
  const auto alice = NewActor();
  const auto path = Path(CreateAssistant(alice, {{"name", "contended"}}));
  for (int round = 0; round < 5; ++round) {
    const std::string etag = Get(alice, path).Header("etag");
    constexpr int kWriters = 8;
    std::atomic<int> ok = 0, failed = 0, other = 0;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        HttpClient mine(server().port());
        const auto r = mine.Call("PATCH", path, alice.token,
                                 nlohmann::json{{"name", "writer " + std::to_string(w)}}.dump(),
                                 {{"If-Match", etag}});
        (r.status == 200 ? ok : r.status == 412 ? failed : other)++;
      });
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(ok, 1) << "round " << round;
    EXPECT_EQ(failed, kWriters - 1);
    EXPECT_EQ(other, 0);
  }
}

TEST_F(ConditionalTest, PreflightAllowsTheConditionalHeadersAndEtagIsExposed) {
  const auto r = client().Send("OPTIONS", "/functions/v1/assistants/x", "",
                               {{"Origin", "http://app.example"},
                                {"Access-Control-Request-Method", "PATCH"},
                                {"Access-Control-Request-Headers", "if-match"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.Header("access-control-allow-headers").find("if-match"), std::string::npos);
  EXPECT_NE(r.Header("access-control-allow-headers").find("if-none-match"), std::string::npos);
  const auto alice = NewActor();
  EXPECT_NE(Get(alice, "/v1/assistants").Header("access-control-expose-headers").find("ETag"),
            std::string::npos);
}

TEST(RequireIfMatchTest, WritesWithoutIfMatchAre428AndChangeNothing) {
  auto server = ServerProcess::Start({.args = {"--sync-workers", "0", "--require-if-match"}});
  HttpClient client(server->port());
  const std::string user = NewUuid();
  const std::string token = server->Token(user, "user");
  const auto created = client.Call("POST", "/v1/assistants", token, R"({"name":"strict"})");
  ASSERT_EQ(created.status, 201) << "creates need no precondition: " << created.body;
  const std::string path = "/v1/assistants/" + created.Json()["id"].get<std::string>();
  const auto before = client.Call("GET", path, token);

  const auto patch = client.Call("PATCH", path, token, R"({"name":"blind"})");
  EXPECT_EQ(patch.status, 428) << patch.body;
  EXPECT_EQ(patch.Json()["error"]["code"], "precondition_required");
  EXPECT_EQ(client.Call("DELETE", path, token).status, 428);
  EXPECT_EQ(client.Call("POST", path + "/sync", token).status, 428);
  EXPECT_EQ(client.Call("GET", path, token).body, before.body);

  const auto guarded = client.Call("PATCH", path, token, R"({"name":"seen"})",
                                   {{"If-Match", before.Header("etag")}});
  EXPECT_EQ(guarded.status, 200) << guarded.body;
  EXPECT_EQ(client.Call("DELETE", path, token, "", {{"If-Match", guarded.Header("etag")}}).status,
            204);
}

}  // namespace
}  // namespace assistantd::testing
