// The assistant corpus (tests/corpus/vapi_assistants.json) against both validators: ours
// (domain/json_schema over Vapi's document) and vapi-sim's (RapidJSON over the same document).
// They must agree on every assistant, and every payload we would send must pass Vapi's.
#include "corpus/vapi_corpus.hpp"

#include <gtest/gtest.h>

#include "domain/assistant.hpp"
#include "domain/assistant_fields.hpp"
#include "domain/vapi_schema.hpp"
#include "vapi/vapi_rules.hpp"
#include "vapi_sim/schema_judge.hpp"

namespace assistantd {
namespace {

using nlohmann::json;

const vapisim::SchemaJudge& Judge() {
  static const vapisim::SchemaJudge judge(domain::VapiSchemaDocument());
  return judge;
}

std::string Dump(const domain::Violations& v) {
  std::string out;
  for (const auto& x : v) out += x.field + " " + x.message + "; ";
  return out;
}

TEST(VapiCorpusTest, HoldsAtLeastFortyOfEachKind) {
  EXPECT_GE(testing::VapiCorpus()["valid"].size(), 40u);
  EXPECT_GE(testing::VapiCorpus()["invalid"].size(), 40u);
}

TEST(VapiCorpusTest, ValidAssistantsPassBothValidatorsAndSoDoTheirPayloads) {
  for (const auto& entry : testing::VapiCorpus()["valid"]) {
    const auto& label = entry["label"].get_ref<const std::string&>();
    const auto fields = domain::FieldsFromCreate(entry["assistant"]);
    EXPECT_TRUE(domain::ValidateFields(fields).empty())
        << label << ": " << Dump(domain::ValidateFields(fields));
    EXPECT_TRUE(Judge().Judge(entry["assistant"], false).empty()) << label;
    // What the sync worker sends, local-only fields included in what it is built from.
    json with_local = fields;
    with_local["silenceTimeoutSeconds"] = 30;
    with_local["endCallAfterSilence"] = true;
    const auto payload =
        domain::VapiPayload(with_local, {"4b1f0e1a-0000-4000-8000-000000000001", "i"});
    const auto sentences = Judge().Judge(payload, false);
    EXPECT_TRUE(sentences.empty()) << label << ": " << json(sentences).dump();
    EXPECT_TRUE(Judge().Judge(payload, true).empty()) << label;
    EXPECT_FALSE(payload.contains("silenceTimeoutSeconds"));
    EXPECT_FALSE(payload.contains("endCallAfterSilence"));
  }
}

TEST(VapiCorpusTest, EachInvalidAssistantBreaksOneNamedRuleThatBothValidatorsSee) {
  for (const auto& entry : testing::VapiCorpus()["invalid"]) {
    const auto& label = entry["label"].get_ref<const std::string&>();
    const auto v = domain::ValidateFields(domain::FieldsFromCreate(entry["assistant"]));
    ASSERT_EQ(v.size(), 1u) << label << ": " << Dump(v);
    EXPECT_EQ(v[0].field, entry["field"]) << label << ": " << Dump(v);
    EXPECT_FALSE(Judge().Judge(entry["assistant"], false).empty()) << label;
    EXPECT_FALSE(Judge().Judge(entry["assistant"], true).empty()) << label;
  }
}

TEST(VapiCorpusTest, ClearingEveryFieldIsAnUpdateVapiAccepts) {
  std::vector<std::string> all;
  for (const auto& f : domain::AssistantFields()) {
    if (f.sent_to_vapi) all.emplace_back(f.wire);
  }
  const auto clear = domain::VapiClearPayload(all);
  EXPECT_EQ(clear.size(), all.size());
  EXPECT_TRUE(Judge().Judge(clear, true).empty());
  // Vapi's schema declares this default; clearing sends it instead of null.
  EXPECT_EQ(clear["firstMessageInterruptionsEnabled"], false);
  EXPECT_TRUE(clear["firstMessage"].is_null());
}

TEST(RemoteOnlyFieldsTest, CountsVapiFieldsTheCopyHoldsAndWeDoNot) {
  const auto payload = domain::VapiPayload({{"name", "n"}}, {"id-1", ""});
  const json remote = {{"id", "v"},
                       {"orgId", "o"},
                       {"createdAt", "t"},
                       {"updatedAt", "t"},
                       {"latestVersion", nullptr},
                       {"name", "n"},
                       {"metadata", payload["metadata"]},
                       {"firstMessage", "hi"},         // kept by Vapi after we cleared it
                       {"voicemailMessage", nullptr},  // cleared already
                       {"firstMessageInterruptionsEnabled", false},  // the default
                       {"silenceTimeoutSeconds", 30}};               // legacy, not a Vapi field
  EXPECT_EQ(domain::RemoteOnlyFields(payload, remote), std::vector<std::string>{"firstMessage"});
  EXPECT_TRUE(domain::RemoteOnlyFields(payload, json::array()).empty());
}

TEST(RejectedFieldsTest, NamesTopLevelFieldsFromAClosedSet) {
  const auto r = vapi::RejectedFields(
      R"({"message":["property silenceTimeoutSeconds should not exist",)"
      R"("voice.property foo should not exist","name must be shorter than or equal to 40 characters",)"
      R"("property xyz should not exist","voice.voiceId must be one of the following values: a",)"
      R"("name must be a string"],"error":"Bad Request","statusCode":400})");
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].field, "silenceTimeoutSeconds");
  EXPECT_EQ(r[0].kind, "unknown");
  EXPECT_EQ(r[1].field, "voice");
  EXPECT_EQ(r[1].kind, "unknown");
  EXPECT_EQ(r[2].field, "name");
  EXPECT_EQ(r[2].kind, "invalid");
  EXPECT_EQ(r[3].field, "other");
  EXPECT_EQ(r[4].field, "voice");
  EXPECT_EQ(r[4].kind, "invalid");
  EXPECT_EQ(vapi::RejectedFields(R"({"message":"Bad Request"})")[0].field, "other");
  EXPECT_TRUE(vapi::RejectedFields("not json").empty());
}

}  // namespace
}  // namespace assistantd
