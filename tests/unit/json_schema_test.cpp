#include "domain/json_schema.hpp"

#include <gtest/gtest.h>

#include <set>

#include "domain/assistant.hpp"
#include "domain/assistant_fields.hpp"
#include "domain/vapi_schema.hpp"

namespace assistantd::domain {
namespace {

using nlohmann::json;

JsonSchema Compiled(const json& definitions) {
  auto s = JsonSchema::Compile({{"definitions", definitions}});
  EXPECT_TRUE(s) << (s ? "" : s.error().internal);
  return std::move(*s);
}

Violations Check(const JsonSchema& s, const char* name, const json& value) {
  Violations out;
  JsonSchema::Validate(*s.Definition(name), value, "", out);
  return out;
}

TEST(JsonSchemaTest, RefusesKeywordsItDoesNotImplement) {
  const auto s = JsonSchema::Compile({{"definitions", {{"A", {{"const", 1}}}}}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().internal.find("\"const\""), std::string::npos);
  EXPECT_FALSE(JsonSchema::Compile({{"definitions", {{"A", {{"format", "email"}}}}}}));
  EXPECT_FALSE(JsonSchema::Compile({{"definitions", {{"A", {{"$ref", "#/definitions/B"}}}}}}));
  EXPECT_FALSE(JsonSchema::Compile({{"definitions", {{"A", {{"pattern", "("}}}}}}));
  EXPECT_FALSE(JsonSchema::Compile(json::object()));
}

TEST(JsonSchemaTest, ChecksTypesBoundsPatternsAndFormats) {
  const auto s = Compiled(
      {{"S",
        {{"type", "object"},
         {"additionalProperties", false},
         {"required", {"id"}},
         {"properties",
          {{"id", {{"type", "string"}, {"format", "uuid"}}},
           {"n", {{"type", "integer"}, {"minimum", 1}, {"maximum", 3}}},
           {"word", {{"type", "string"}, {"pattern", "^\\p{L}+$"}, {"maxLength", 3}}},
           {"at", {{"type", "string"}, {"format", "date-time"}}},
           {"url", {{"type", "string"}, {"format", "uri"}}},
           {"maybe", {{"type", {"string", "null"}}}},
           {"tags", {{"type", "array"}, {"maxItems", 1}, {"items", {{"enum", {"a"}}}}}}}}}}});
  EXPECT_TRUE(Check(s, "S",
                    {{"id", "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f"},
                     {"n", 2.0},
                     {"word", "été"},
                     {"at", "2026-12-01T10:00:00.5+01:00"},
                     {"url", "wss://x"},
                     {"maybe", nullptr},
                     {"tags", {"a"}}})
                  .empty());
  const auto v = Check(s, "S",
                       {{"n", 2.5},
                        {"word", "ab1"},
                        {"at", "yesterday"},
                        {"url", "no scheme"},
                        {"tags", {"a", "b"}},
                        {"extra", 1}});
  std::set<std::string> fields;
  for (const auto& x : v) fields.insert(x.field);
  EXPECT_EQ(fields,
            (std::set<std::string>{"id", "n", "word", "at", "url", "tags", "tags[1]", "extra"}));
  EXPECT_EQ(Check(s, "S", {{"id", "x"}, {"n", 9}})[1].message, "must be between 1 and 3");
}

TEST(JsonSchemaTest, ReportsAgainstTheBranchTheDiscriminatorSelects) {
  const auto s = Compiled(
      {{"A",
        {{"type", "object"},
         {"required", {"kind", "a"}},
         {"additionalProperties", false},
         {"properties", {{"kind", {{"enum", {"a"}}}}, {"a", {{"type", "number"}}}}}}},
       {"B",
        {{"type", "object"},
         {"additionalProperties", false},
         {"properties", {{"kind", {{"enum", {"b"}}}}, {"b", {{"type", "string"}}}}}}},
       {"U", {{"anyOf", {{{"$ref", "#/definitions/A"}}, {{"$ref", "#/definitions/B"}}}}}}});
  EXPECT_TRUE(Check(s, "U", {{"kind", "b"}, {"b", "x"}}).empty());
  auto v = Check(s, "U", {{"kind", "a"}, {"b", "x"}});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "a");
  EXPECT_EQ(v[1].field, "b");
  EXPECT_EQ(v[1].message, "is not a known field");
  v = Check(s, "U", {{"kind", "c"}});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].message, "must be one of \"a\", \"b\"");
  EXPECT_EQ(Check(s, "U", json::object())[0].field, "kind");
  EXPECT_EQ(Check(s, "U", 3)[0].message, "has an unsupported value or type");
}

TEST(JsonSchemaTest, AnEmptyEnumAcceptsNothingButAnAlternativeMay) {
  const json preset = {{"type", "string"}, {"enum", json::array()}};
  const json any_string = {{"type", "string"}};
  const auto s = Compiled({{"V", {{"anyOf", json::array({preset, any_string})}}}});
  EXPECT_TRUE(Check(s, "V", "anything").empty());
  EXPECT_FALSE(Check(s, "V", 1).empty());
}

TEST(VapiSchemaTest, TheFieldTableSendsExactlyWhatCreateAssistantDtoDeclares) {
  const auto declared = JsonSchema::PropertyNames(VapiAssistantSchema());
  std::set<std::string> sent;
  for (const auto& f : AssistantFields()) {
    if (f.sent_to_vapi) sent.insert(std::string(f.wire));
  }
  EXPECT_EQ(sent, std::set<std::string>(declared.begin(), declared.end()));
  const auto* update = VapiSchema().Definition("UpdateAssistantDTO");
  ASSERT_NE(update, nullptr);
  EXPECT_EQ(JsonSchema::PropertyNames(*update), declared);
  EXPECT_EQ(VapiSchemaSource().size(), 64u);
}

TEST(VapiSchemaTest, NestedRulesAreVapis) {
  const auto field = [](const json& fields) {
    const auto v = ValidateFields(fields);
    return v.empty() ? std::string() : v.front().field + " " + v.front().message;
  };
  EXPECT_EQ(field({{"voice", {{"provider", "deepgram"}, {"voiceId", "nope"}}}}).substr(0, 23),
            "voice.voiceId must be o");
  EXPECT_EQ(field({{"voice", {{"provider", "openai"}, {"voiceId", "my-clone"}}}}), "");
  EXPECT_EQ(field({{"voice", {{"provider", "11labs"}, {"voiceId", "v"}, {"speed", 1.3}}}}),
            "voice.speed must be between 0.7 and 1.2");
  EXPECT_EQ(field({{"transcriber", {{"provider", "openai"}}}}), "transcriber.model is required");
  EXPECT_EQ(field({{"transcriber", {{"provider", "custom-transcriber"}}}}),
            "transcriber.server is required");
  EXPECT_EQ(field({{"transcriber", {{"provider", "deepgram"}, {"endpointing", 5}}}}),
            "transcriber.endpointing must be between 10 and 500");
  EXPECT_EQ(
      field({{"model",
              {{"provider", "openai"}, {"model", "gpt-4o"}, {"tools", {{{"type", "nope"}}}}}}})
          .substr(0, 29),
      "model.tools[0].type must be o");
  EXPECT_EQ(field({{"keypadInputPlan", {{"delimiters", {"#"}}}}}),
            "keypadInputPlan.delimiters must be a string");
  EXPECT_EQ(field({{"server", {{"url", "x"}, {"backoffPlan", {{"type", "fixed"}}}}}}),
            "server.backoffPlan.maxRetries is required");
  EXPECT_EQ(field({{"voice", {{"provider", "neuphonic"}, {"voiceId", "v"}, {"language", "en"}}}}),
            "voice.language must be an object");
  EXPECT_EQ(field({{"model", {{"provider", "openai"}, {"model", "gpt-4o"}, {"unknown", 1}}}}),
            "model.unknown is not a known field");
}

}  // namespace
}  // namespace assistantd::domain
