#include <gtest/gtest.h>

#include "domain/assistant.hpp"
#include "domain/assistant_fields.hpp"
#include "domain/list_query.hpp"
#include "domain/principal.hpp"

namespace assistantd::domain {
namespace {

using nlohmann::json;

bool Has(const Violations& v, const std::string& field) {
  for (const auto& x : v) {
    if (x.field == field) return true;
  }
  return false;
}

TEST(AssistantFieldsTest, TableHasVapiFieldsPlusTwoLocalOnes) {
  EXPECT_EQ(AssistantFields().size(), 33u);
  int local = 0;
  for (const auto& f : AssistantFields()) local += f.sent_to_vapi ? 0 : 1;
  EXPECT_EQ(local, 2);  // neither is in Vapi's CreateAssistantDto (spec §7)
  EXPECT_FALSE(FindAssistantField("endCallAfterSilence")->sent_to_vapi);
  EXPECT_FALSE(FindAssistantField("silenceTimeoutSeconds")->sent_to_vapi);
  EXPECT_EQ(FindAssistantField("firstMessageMode")->column, "first_message_mode");
}

TEST(AssistantFieldsTest, ColumnsAreSnakeCaseOfWireNames) {
  for (const auto& f : AssistantFields()) {
    std::string snake;
    for (const char c : f.wire) {
      if (std::isupper(static_cast<unsigned char>(c))) {
        snake += '_';
        snake += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else {
        snake += c;
      }
    }
    EXPECT_EQ(snake, f.column);
  }
}

TEST(ValidationTest, AcceptsBoundaryValues) {
  EXPECT_TRUE(ValidateFields({{"name", std::string(40, 'n')},
                              {"maxDurationSeconds", 10},
                              {"endCallPhrases", {"ok", std::string(140, 'p')}},
                              {"silenceTimeoutSeconds", 3600},
                              {"stopSpeakingPlan", {{"voiceSeconds", 0.5}}},
                              {"backgroundSound", "https://cdn.example.com/a.mp3"},
                              {"voicemailDetection", {{"provider", "twilio"}}},
                              {"keypadInputPlan", {{"delimiters", "#"}}},
                              {"hooks",
                               {{{"on", "customer.speech.timeout[timeoutSeconds=10]"},
                                 {"do", json::array()}}}}})
                  .empty());
}

TEST(ValidationTest, ReportsEachViolationWithItsPath) {
  const auto v = ValidateFields({{"name", std::string(41, 'n')},
                                 {"model",
                                  {{"provider", "openai"},
                                   {"model", "gpt-4o"},
                                   {"messages", {{{"role", "robot"}, {"content", "x"}}}}}},
                                 {"backgroundSound", "not a url"},
                                 {"hooks", {{{"on", "call.ending"}, {"do", {{{"type", "?"}}}}}}}});
  EXPECT_TRUE(Has(v, "name"));
  EXPECT_TRUE(Has(v, "model.messages[0].role"));
  EXPECT_TRUE(Has(v, "backgroundSound"));
  EXPECT_TRUE(Has(v, "hooks[0].do[0].type"));
  EXPECT_EQ(v.size(), 4u);
}

TEST(ValidationTest, ProviderSpecificRequirements) {
  EXPECT_TRUE(Has(ValidateFields({{"voice", {{"provider", "custom-voice"}}}}), "voice.server"));
  EXPECT_TRUE(Has(ValidateFields({{"voice", {{"provider", "neuphonic"}, {"voiceId", "v"}}}}),
                  "voice.language"));
  EXPECT_TRUE(
      Has(ValidateFields({{"voice", {{"provider", "sesame"}, {"voiceId", "v"}}}}), "voice.model"));
  EXPECT_TRUE(
      Has(ValidateFields({{"voice", {{"provider", "vapi"}, {"voiceId", "Elliot"}, {"speed", 3}}}}),
          "voice.speed"));
  EXPECT_TRUE(ValidateFields({{"voice", {{"provider", "vapi"}, {"voiceId", "Elliot"}}}}).empty());
}

TEST(ValidationTest, NumbersAreVapisNumbers) {
  // Vapi types maxTokens as a number, not an integer: 100.5 is Vapi's to accept.
  EXPECT_TRUE(ValidateFields(
                  {{"model", {{"provider", "openai"}, {"model", "gpt-4o"}, {"maxTokens", 100.5}}}})
                  .empty());
  EXPECT_TRUE(Has(
      ValidateFields({{"model", {{"provider", "openai"}, {"model", "gpt-4o"}, {"maxTokens", 49}}}}),
      "model.maxTokens"));
}

TEST(ValidationTest, ReportsEachViolationOnce) {
  // observabilityPlan reaches LangfuseObservabilityPlan through both allOf and anyOf.
  const auto v = ValidateFields({{"observabilityPlan", {{"provider", "langfuse"}}}});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "observabilityPlan.tags");
}

TEST(ValidationTest, ManyBadItemsGiveABoundedAnswer) {
  const auto v = ValidateFields({{"endCallPhrases", json::array_t(20000, json("x"))}});
  ASSERT_EQ(v.size(), kMaxViolations);
  EXPECT_EQ(v[0].field, "endCallPhrases[0]");
  EXPECT_EQ(v[99].field, "endCallPhrases[99]");
}

TEST(CheckBodyKeysTest, SeparatesUnknownFromServerOwned) {
  const auto v =
      CheckBodyKeys({{"name", "x"}, {"id", "y"}, {"bogus", 1}, {"ownerId", "z"}}, {"ownerId"});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(Has(v, "id"));
  EXPECT_TRUE(Has(v, "bogus"));
}

TEST(MergePatchTest, FollowsRfc7396) {
  const json current = {{"a", 1}, {"o", {{"x", 1}, {"y", 2}}}, {"arr", {1, 2}}};
  const json patch = {{"a", nullptr}, {"o", {{"y", nullptr}, {"z", 3}}}, {"arr", {3}}};
  EXPECT_EQ(ApplyMergePatch(current, patch), (json{{"o", {{"x", 1}, {"z", 3}}}, {"arr", {3}}}));
  EXPECT_EQ(FieldsFromCreate({{"name", "n"}, {"model", nullptr}}), (json{{"name", "n"}}));
}

TEST(AssistantTest, IsTestReadsTheMetadataFlag) {
  Assistant a;
  EXPECT_FALSE(a.IsTest());
  a.fields = {{"metadata", {{"is_test", true}}}};
  EXPECT_TRUE(a.IsTest());
  a.fields = {{"metadata", {{"is_test", "true"}}}};
  EXPECT_FALSE(a.IsTest());
}

TEST(AssistantTest, WireFormHasServerFields) {
  Assistant a;
  a.id = "i";
  a.user_id = "u";
  a.fields = {{"name", "n"}};
  a.created_at_us = a.updated_at_us = 1767225600000000;
  const auto w = ToWire(a);
  EXPECT_EQ(w["syncStatus"], "pending");
  EXPECT_EQ(w["createdAt"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(Project(w, {"id", "nope"}), (json{{"id", "i"}}));
}

TEST(CursorTest, RoundTripsAndRejectsForgeries) {
  const ListCursor c{1767225600123456, "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f"};
  const auto decoded = DecodeCursor(EncodeCursor(c));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->created_at_us, c.created_at_us);
  EXPECT_EQ(decoded->id, c.id);
  EXPECT_FALSE(DecodeCursor("garbage!"));
  EXPECT_FALSE(DecodeCursor(""));
  EXPECT_FALSE(DecodeCursor("MTIzLm5vdC1hLXV1aWQ"));  // "123.not-a-uuid"
}

TEST(PolicyTest, RolesMapToScopes) {
  EXPECT_EQ(ParseRole("authenticated"), Role::kUser);
  EXPECT_EQ(ParseRole("service_role"), Role::kServiceRole);
  EXPECT_FALSE(ParseRole("anon"));
  const Principal user{Role::kUser, "u1", std::nullopt};
  EXPECT_EQ(ScopeFor(user).owner_id, "u1");
  EXPECT_FALSE(ScopeFor(user).test_only);
  const Principal tester{Role::kTest, "t1", std::nullopt};
  EXPECT_TRUE(ScopeFor(tester).test_only);
  EXPECT_EQ(ScopeFor(tester).owner_id, "t1");
  const Principal admin{Role::kAdmin, "a1", std::nullopt};
  EXPECT_FALSE(ScopeFor(admin).owner_id);
  EXPECT_TRUE(IsAdmin(Principal{Role::kServiceRole, std::nullopt, std::nullopt}));
  EXPECT_FALSE(IsAdmin(Principal{Role::kPremium, "p", std::nullopt}));
}

}  // namespace
}  // namespace assistantd::domain
