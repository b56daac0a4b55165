// PRODUCT.md §3: every malformed input gets a clear 4xx in the one error shape and changes
// nothing.
#include <gtest/gtest.h>

#include "integration/api_fixture.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

class BadInputTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    alice_ = NewActor();
    existing_ = CreateAssistant(alice_, {{"name", "Existing"}});
    url_ = "/v1/assistants/" + existing_["id"].get<std::string>();
  }

  // Checks the error shape and that alice's data did not change.
  void ExpectRejected(const HttpResult& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    const auto body = r.Json();
    ASSERT_TRUE(body.contains("error")) << r.body;
    EXPECT_EQ(body["error"]["code"], code) << r.body;
    EXPECT_TRUE(body["error"]["message"].is_string());
    EXPECT_TRUE(body["error"]["details"].is_array());
    EXPECT_EQ(body["error"]["requestId"], r.Header("x-request-id"));
    EXPECT_EQ(CountVisible(alice_), 1u);
    EXPECT_EQ(client().Call("GET", url_, alice_.token).Json(), existing_);
  }

  // Details of a 400 validation_failed for a create body.
  json CreateDetails(const json& body) {
    const auto r = client().Call("POST", "/v1/assistants", alice_.token, body.dump());
    ExpectRejected(r, 400, "validation_failed");
    return r.Json()["error"]["details"];
  }

  Actor alice_;
  json existing_;
  std::string url_;
};

bool HasDetail(const json& details, const std::string& field) {
  for (const auto& d : details) {
    if (d["field"] == field) return true;
  }
  return false;
}

TEST_F(BadInputTest, UnknownFieldsAreNamed) {
  const auto d = CreateDetails({{"name", "x"}, {"prompt", "hi"}, {"colour", 1}});
  EXPECT_TRUE(HasDetail(d, "prompt"));
  EXPECT_TRUE(HasDetail(d, "colour"));
}

TEST_F(BadInputTest, ServerOwnedFieldsCannotBeWritten) {
  for (const char* field : {"id", "userId", "vapiId", "syncStatus", "syncError", "lastSyncedAt",
                            "version", "createdAt", "updatedAt"}) {
    EXPECT_TRUE(HasDetail(CreateDetails({{field, "x"}}), field)) << field;
    const auto r = client().Call("PATCH", url_, alice_.token, json{{field, "x"}}.dump());
    ExpectRejected(r, 400, "validation_failed");
  }
}

TEST_F(BadInputTest, VapiLimitsAreEnforced) {
  EXPECT_TRUE(HasDetail(CreateDetails({{"name", std::string(41, 'n')}}), "name"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"maxDurationSeconds", 9}}), "maxDurationSeconds"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"maxDurationSeconds", 43201}}), "maxDurationSeconds"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"endCallPhrases", {"a"}}}), "endCallPhrases[0]"));
  EXPECT_TRUE(
      HasDetail(CreateDetails({{"endCallPhrases", {std::string(141, 'p')}}}), "endCallPhrases[0]"));
  EXPECT_TRUE(
      HasDetail(CreateDetails({{"endCallMessage", std::string(1001, 'm')}}), "endCallMessage"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"silenceTimeoutSeconds", 9}}), "silenceTimeoutSeconds"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"silenceTimeoutSeconds", 3601}}), "silenceTimeoutSeconds"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"firstMessageMode", "shout"}}), "firstMessageMode"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"backgroundSound", "jungle"}}), "backgroundSound"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"clientMessages", {"nope"}}}), "clientMessages[0]"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"stopSpeakingPlan", {{"numWords", 11}}}}),
                        "stopSpeakingPlan.numWords"));
  EXPECT_TRUE(
      HasDetail(CreateDetails({{"server", {{"timeoutSeconds", 301}}}}), "server.timeoutSeconds"));
}

TEST_F(BadInputTest, NameLimitCountsCharactersNotBytes) {
  // 40 two-byte characters are within Vapi's 40-character limit; 41 are not.
  std::string name;
  for (int i = 0; i < 40; ++i) name += "\xc3\xa9";
  EXPECT_TRUE(HasDetail(CreateDetails({{"name", name + "\xc3\xa9"}}), "name"));
  const auto a = CreateAssistant(alice_, {{"name", name}});
  EXPECT_EQ(a["name"], name);
  EXPECT_EQ(
      client().Call("DELETE", "/v1/assistants/" + a["id"].get<std::string>(), alice_.token).status,
      204);
}

TEST_F(BadInputTest, ProviderObjectsAreChecked) {
  EXPECT_TRUE(HasDetail(CreateDetails({{"model", {{"provider", "skynet"}, {"model", "x"}}}}),
                        "model.provider"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"model", {{"provider", "openai"}}}}), "model.model"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"model", {{"model", "gpt-4o"}}}}), "model.provider"));
  EXPECT_TRUE(HasDetail(
      CreateDetails({{"model", {{"provider", "openai"}, {"model", "gpt-4o"}, {"temperature", 3}}}}),
      "model.temperature"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"model", {{"provider", "custom-llm"}, {"model", "m"}}}}),
                        "model.url"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"voice", {{"provider", "11labs"}}}}), "voice.voiceId"));
  EXPECT_TRUE(HasDetail(
      CreateDetails({{"voice", {{"provider", "11labs"}, {"voiceId", "v"}, {"speed", 2}}}}),
      "voice.speed"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"transcriber", {{"provider", "whisperer"}}}}),
                        "transcriber.provider"));
  // The vapi model provider needs no model name.
  CreateAssistant(alice_, {{"model", {{"provider", "vapi"}}}});
  EXPECT_EQ(CountVisible(alice_), 2u);
  const auto list = client().Call("GET", "/v1/assistants", alice_.token).Json();
  EXPECT_EQ(client()
                .Call("DELETE", "/v1/assistants/" + list["data"][0]["id"].get<std::string>(),
                      alice_.token)
                .status,
            204);
}

TEST_F(BadInputTest, WrongTypesAreRejected) {
  EXPECT_TRUE(HasDetail(CreateDetails({{"name", 12}}), "name"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"endCallAfterSilence", "yes"}}), "endCallAfterSilence"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"maxDurationSeconds", "600"}}), "maxDurationSeconds"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"metadata", "x"}}), "metadata"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"metadata", {{"is_test", "true"}}}}), "metadata.is_test"));
  EXPECT_TRUE(HasDetail(CreateDetails({{"endCallPhrases", "bye"}}), "endCallPhrases"));
}

TEST_F(BadInputTest, MalformedJsonIsRejected) {
  for (const std::string body :
       {"{", "not json", "[1,2]", "\"str\"", "{\"name\": \"a\",}", "{\"name\": 'a'}"}) {
    const auto r = client().Call("POST", "/v1/assistants", alice_.token, body);
    ExpectRejected(r, 400, "invalid_json");
  }
  ExpectRejected(client().Call("PATCH", url_, alice_.token, "{"), 400, "invalid_json");
  ExpectRejected(
      client().Send("POST", "/v1/assistants", "", {{"Authorization", "Bearer " + alice_.token}}),
      400, "invalid_json");
}

TEST_F(BadInputTest, DuplicateKeysAreRejected) {
  ExpectRejected(
      client().Call("POST", "/v1/assistants", alice_.token, R"({"name":"a","name":"b"})"), 400,
      "invalid_json");
  ExpectRejected(
      client().Call("POST", "/v1/assistants", alice_.token, R"({"metadata":{"k":1,"k":2}})"), 400,
      "invalid_json");
}

TEST_F(BadInputTest, DeepNestingIsRejected) {
  std::string deep = R"({"metadata":)";
  for (int i = 0; i < 200; ++i) deep += R"({"a":)";
  deep += "1";
  for (int i = 0; i < 201; ++i) deep += "}";
  ExpectRejected(client().Call("POST", "/v1/assistants", alice_.token, deep), 400, "invalid_json");
}

TEST_F(BadInputTest, InvalidUtf8IsRejected) {
  ExpectRejected(
      client().Call("POST", "/v1/assistants", alice_.token, "{\"name\":\"bad \xff\xfe bytes\"}"),
      400, "invalid_json");
  ExpectRejected(client().Call("POST", "/v1/assistants", alice_.token, "{\"name\":\"\xc3\x28\"}"),
                 400, "invalid_json");
}

TEST_F(BadInputTest, NonJsonContentTypeIs415) {
  ExpectRejected(
      client().Send("POST", "/v1/assistants", R"({"name":"x"})",
                    {{"Authorization", "Bearer " + alice_.token}, {"Content-Type", "text/plain"}}),
      415, "unsupported_media_type");
}

TEST_F(BadInputTest, JsonContentTypeWithCharsetIsAccepted) {
  const auto r = client().Send("POST", "/v1/assistants", R"({"name":"charset"})",
                               {{"Authorization", "Bearer " + alice_.token},
                                {"Content-Type", "application/json;charset=UTF-8"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(client().Call("DELETE", r.Header("location"), alice_.token).status, 204);
}

TEST_F(BadInputTest, HugeBodyIs413) {
  const std::string huge = R"({"firstMessage":")" + std::string(2 * 1024 * 1024, 'x') + R"("})";
  const auto r = client().Call("POST", "/v1/assistants", alice_.token, huge);
  ExpectRejected(r, 413, "payload_too_large");
}

TEST_F(BadInputTest, DeclaredHugeBodyIs413BeforeItIsSent) {
  const std::string raw =
      "POST /v1/assistants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer " +
      alice_.token + "\r\nContent-Length: 999999999\r\n\r\n{";
  const std::string response = RawExchange(server().port(), raw);
  EXPECT_TRUE(response.starts_with("HTTP/1.1 413")) << response;
  EXPECT_NE(response.find("payload_too_large"), std::string::npos);
  EXPECT_EQ(CountVisible(alice_), 1u);
}

TEST_F(BadInputTest, NonUuidPathIdIs400) {
  for (const std::string id : {"123", "not-a-uuid", "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5", "%00",
                               "6f1d2c6e_0b51_4a1e_9d6a_0a1b2c3d4e5f"}) {
    ExpectRejected(client().Call("GET", "/v1/assistants/" + id, alice_.token), 400, "invalid_id");
    ExpectRejected(client().Call("PATCH", "/v1/assistants/" + id, alice_.token, "{}"), 400,
                   "invalid_id");
    ExpectRejected(client().Call("DELETE", "/v1/assistants/" + id, alice_.token), 400,
                   "invalid_id");
  }
}

TEST_F(BadInputTest, UnknownIdIs404) {
  ExpectRejected(client().Call("GET", "/v1/assistants/" + NewUuid(), alice_.token), 404,
                 "not_found");
}

TEST_F(BadInputTest, MalformedHttpIs400) {
  const std::string response = RawExchange(server().port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 400")) << response;
}

TEST_F(BadInputTest, OversizedHeadersAre431) {
  const std::string raw =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'h') + "\r\n\r\n";
  const std::string response = RawExchange(server().port(), raw);
  EXPECT_TRUE(response.starts_with("HTTP/1.1 431")) << response.substr(0, 200);
}

TEST_F(BadInputTest, BadQueryParametersAre400) {
  ExpectRejected(client().Call("GET", "/v1/assistants?limit=0", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?limit=101", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?limit=ten", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?cursor=garbage", alice_.token), 400,
                 "invalid_cursor");
  ExpectRejected(client().Call("GET", "/v1/assistants?colour=red", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?limit=1&limit=2", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?syncStatus=done", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?isTest=maybe", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?createdAfter=yesterday", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?fields=id,password", alice_.token), 400,
                 "invalid_query");
  ExpectRejected(client().Call("GET", "/v1/assistants?q=%zz", alice_.token), 400, "invalid_query");
}

}  // namespace
}  // namespace assistantd::testing
