// The assistants resource over HTTP against the real binary: create, get, patch, delete,
// both route prefixes, field acceptance and the merge-patch rules.
#include <gtest/gtest.h>

#include "integration/api_fixture.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

class AssistantsCrudTest : public ApiTest {};

const json kFullAssistant = {
    {"name", "Support bot"},
    {"firstMessage", "Hello, how can I help?"},
    {"firstMessageMode", "assistant-speaks-first"},
    {"firstMessageInterruptionsEnabled", false},
    {"model",
     {{"provider", "openai"},
      {"model", "gpt-4o"},
      {"temperature", 0.7},
      {"maxTokens", 250},
      {"messages", json::array({{{"role", "system"}, {"content", "You are helpful."}}})}}},
    {"voice", {{"provider", "11labs"}, {"voiceId", "burt"}, {"stability", 0.5}}},
    {"transcriber", {{"provider", "deepgram"}, {"model", "nova-2"}, {"language", "en"}}},
    {"maxDurationSeconds", 600},
    {"endCallMessage", "Goodbye"},
    {"endCallPhrases", json::array({"goodbye", "bye now"})},
    {"voicemailMessage", "Please call back"},
    {"voicemailDetection", "off"},
    {"backgroundSound", "office"},
    {"metadata", {{"team", "support"}}},
    {"server", {{"url", "https://example.com/webhook"}, {"timeoutSeconds", 20}}},
    {"clientMessages", json::array({"transcript", "hang"})},
    {"serverMessages", json::array({"end-of-call-report"})},
    {"hooks",
     json::array(
         {{{"on", "call.ending"},
           {"do", json::array({{{"type", "message.add"},
                                {"message", {{"role", "system"}, {"content", "bye"}}}}})}}})},
    {"modelOutputInMessagesEnabled", true},
    {"transportConfigurations", json::array()},
    {"observabilityPlan", {{"provider", "langfuse"}, {"tags", json::array({"support"})}}},
    {"credentials", json::array()},
    {"credentialIds", json::array({"cred-1"})},
    {"compliancePlan", {{"hipaaEnabled", false}}},
    {"backgroundSpeechDenoisingPlan", {{"smartDenoisingPlan", {{"enabled", true}}}}},
    {"analysisPlan", json::object()},
    {"artifactPlan", {{"recordingFormat", "mp3"}}},
    {"startSpeakingPlan", {{"waitSeconds", 0.4}}},
    {"stopSpeakingPlan", {{"numWords", 2}, {"voiceSeconds", 0.2}, {"backoffSeconds", 1}}},
    {"monitorPlan", json::object()},
    {"keypadInputPlan", {{"timeoutSeconds", 5}, {"delimiters", "#"}}},
    {"silenceTimeoutSeconds", 30},
    {"endCallAfterSilence", true},
};

TEST_F(AssistantsCrudTest, CreateReturns201WithLocationAndServerFields) {
  const auto alice = NewActor();
  const auto r = client().Call("POST", "/v1/assistants", alice.token, kFullAssistant.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const auto a = r.Json();
  EXPECT_EQ(r.Header("location"), "/v1/assistants/" + a["id"].get<std::string>());
  EXPECT_EQ(a["userId"], alice.id);
  EXPECT_EQ(a["syncStatus"], "pending");
  EXPECT_EQ(a["version"], 1);
  EXPECT_TRUE(a["vapiId"].is_null());
  EXPECT_TRUE(a["syncError"].is_null());
  EXPECT_TRUE(a["lastSyncedAt"].is_null());
  EXPECT_EQ(a["createdAt"], a["updatedAt"]);
  for (const auto& [key, value] : kFullAssistant.items()) EXPECT_EQ(a[key], value) << key;
}

TEST_F(AssistantsCrudTest, EmptyBodyObjectIsAValidCreate) {
  const auto alice = NewActor();
  const auto a = CreateAssistant(alice, json::object());
  EXPECT_EQ(a["syncStatus"], "pending");
  EXPECT_FALSE(a.contains("name"));
}

TEST_F(AssistantsCrudTest, GetReturnsWhatWasStored) {
  const auto alice = NewActor();
  const auto created = CreateAssistant(alice, kFullAssistant);
  const auto r =
      client().Call("GET", "/v1/assistants/" + created["id"].get<std::string>(), alice.token);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json(), created);
}

TEST_F(AssistantsCrudTest, GetAcceptsUppercaseUuid) {
  const auto alice = NewActor();
  const auto created = CreateAssistant(alice, {{"name", "Upper"}});
  std::string id = created["id"];
  for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(client().Call("GET", "/v1/assistants/" + id, alice.token).status, 200);
}

TEST_F(AssistantsCrudTest, GetWithFieldsProjects) {
  const auto alice = NewActor();
  const auto created = CreateAssistant(alice, kFullAssistant);
  const auto r = client().Call(
      "GET", "/v1/assistants/" + created["id"].get<std::string>() + "?fields=id,name,syncStatus",
      alice.token);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json(),
            (json{{"id", created["id"]}, {"name", "Support bot"}, {"syncStatus", "pending"}}));
}

TEST_F(AssistantsCrudTest, PatchMergesNestedObjectsAndBumpsVersion) {
  const auto alice = NewActor();
  const auto created = CreateAssistant(alice, kFullAssistant);
  const std::string url = "/v1/assistants/" + created["id"].get<std::string>();
  const json patch = {{"name", "Renamed"},
                      {"model", {{"temperature", 0.2}}},
                      {"voicemailMessage", nullptr},
                      {"metadata", {{"team", nullptr}, {"tier", "gold"}}}};
  const auto r = client().Call("PATCH", url, alice.token, patch.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto a = r.Json();
  EXPECT_EQ(a["name"], "Renamed");
  EXPECT_EQ(a["model"]["temperature"], 0.2);
  EXPECT_EQ(a["model"]["model"], "gpt-4o");  // kept: merge patch, not replace
  EXPECT_EQ(a["model"]["messages"], kFullAssistant["model"]["messages"]);
  EXPECT_FALSE(a.contains("voicemailMessage"));  // null removes
  EXPECT_EQ(a["metadata"], (json{{"tier", "gold"}}));
  EXPECT_EQ(a["version"], 2);
  EXPECT_EQ(a["createdAt"], created["createdAt"]);
  EXPECT_EQ(a["endCallAfterSilence"], true);
  EXPECT_EQ(client().Call("GET", url, alice.token).Json(), a);
}

TEST_F(AssistantsCrudTest, PatchThatBreaksValidationChangesNothing) {
  const auto alice = NewActor();
  const auto created = CreateAssistant(alice, kFullAssistant);
  const std::string url = "/v1/assistants/" + created["id"].get<std::string>();
  // Removing `model.model` from an openai model leaves an invalid object.
  const auto r = client().Call("PATCH", url, alice.token, R"({"model":{"model":null}})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["details"][0]["field"], "model.model");
  EXPECT_EQ(client().Call("GET", url, alice.token).Json(), created);
}

TEST_F(AssistantsCrudTest, DeleteAnswers204WithoutBodyOrContentType) {
  const auto alice = NewActor();
  const auto created = CreateAssistant(alice, {{"name", "Doomed"}});
  const std::string url = "/v1/assistants/" + created["id"].get<std::string>();
  const auto r = client().Call("DELETE", url, alice.token);
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(r.HasHeader("content-type"));
  EXPECT_EQ(client().Call("GET", url, alice.token).status, 404);
  EXPECT_EQ(client().Call("DELETE", url, alice.token).status, 404);
}

TEST_F(AssistantsCrudTest, SupabaseFunctionPrefixServesTheSameResource) {
  const auto alice = NewActor();
  const auto r =
      client().Call("POST", "/functions/v1/assistants", alice.token, R"({"name":"Via functions"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.Json()["id"];
  EXPECT_EQ(r.Header("location"), "/functions/v1/assistants/" + id);
  EXPECT_EQ(client().Call("GET", "/v1/assistants/" + id, alice.token).status, 200);
  EXPECT_EQ(
      client()
          .Call("PATCH", "/functions/v1/assistants/" + id, alice.token, R"({"name":"Changed"})")
          .Json()["name"],
      "Changed");
  EXPECT_EQ(client().Call("DELETE", "/functions/v1/assistants/" + id, alice.token).status, 204);
}

TEST_F(AssistantsCrudTest, LegacyEndCallAfterSilenceIsStoredAndReturned) {
  const auto alice = NewActor();
  const auto a = CreateAssistant(alice, {{"endCallAfterSilence", false}});
  EXPECT_EQ(a["endCallAfterSilence"], false);
}

TEST_F(AssistantsCrudTest, NumbersKeepTheirJsonType) {
  const auto alice = NewActor();
  const auto a =
      CreateAssistant(alice, {{"maxDurationSeconds", 90.5}, {"silenceTimeoutSeconds", 45}});
  EXPECT_TRUE(a["maxDurationSeconds"].is_number_float());
  EXPECT_TRUE(a["silenceTimeoutSeconds"].is_number_integer());
}

TEST_F(AssistantsCrudTest, DataSurvivesARestart) {
  TempDir dir;
  std::string id;
  std::string token;
  const std::string sub = NewUuid();
  {
    auto first = ServerProcess::Start({.data_dir = dir.path()});
    token = first->Token(sub);
    HttpClient c(first->port());
    const auto r = c.Call("POST", "/v1/assistants", token, R"({"name":"Durable"})");
    ASSERT_EQ(r.status, 201);
    id = r.Json()["id"];
    EXPECT_EQ(first->Stop(), 0);
  }
  auto second = ServerProcess::Start({.data_dir = dir.path()});
  HttpClient c(second->port());
  // Same data dir, same generated secret: the old token still verifies.
  const auto r = c.Call("GET", "/v1/assistants/" + id, token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["name"], "Durable");
}

}  // namespace
}  // namespace assistantd::testing
