#include "vapi/vapi_rules.hpp"

#include <gtest/gtest.h>

#include "domain/assistant_fields.hpp"

namespace assistantd::vapi {
namespace {

TEST(VapiRulesTest, BaseUrlLosesTrailingSlashesAndV1) {
  EXPECT_EQ(NormalizeBaseUrl("https://api.vapi.ai"), "https://api.vapi.ai");
  EXPECT_EQ(NormalizeBaseUrl("https://api.vapi.ai/"), "https://api.vapi.ai");
  EXPECT_EQ(NormalizeBaseUrl("https://api.vapi.ai/v1"), "https://api.vapi.ai");
  EXPECT_EQ(NormalizeBaseUrl("https://api.vapi.ai/v1/"), "https://api.vapi.ai");
  EXPECT_EQ(NormalizeBaseUrl("http://h:1/proxy"), "http://h:1/proxy");
  EXPECT_EQ(NormalizeBaseUrl("http://h:1/v10"), "http://h:1/v10");
}

TEST(VapiRulesTest, ClassifiesStatuses) {
  for (int s : {408, 429, 500, 502, 503, 504})
    EXPECT_EQ(ClassifyStatus(s), FailureKind::kTransient) << s;
  for (int s : {400, 401, 403, 404, 409, 422})
    EXPECT_EQ(ClassifyStatus(s), FailureKind::kPermanent) << s;
}

TEST(VapiRulesTest, ParsesRetryAfterSecondsAndDates) {
  EXPECT_EQ(ParseRetryAfter("7", 0), 7);
  EXPECT_EQ(ParseRetryAfter(" 0 ", 0), 0);
  EXPECT_EQ(ParseRetryAfter(" 12\r\n", 0), 12);  // as a header line arrives
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30), 30);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30), 0);
  EXPECT_FALSE(ParseRetryAfter("", 0));
  EXPECT_FALSE(ParseRetryAfter("-5", 0));
  EXPECT_FALSE(ParseRetryAfter("soon", 0));
}

TEST(VapiRulesTest, FailureReasonQuotesVapiMessages) {
  EXPECT_EQ(FailureReason(400, R"({"message":["a","b"],"error":"Bad Request"})"),
            "Vapi answered 400: a; b");
  EXPECT_EQ(FailureReason(401, R"({"message":"Invalid Key"})"), "Vapi answered 401: Invalid Key");
  EXPECT_EQ(FailureReason(502, "<html>gateway</html>"), "Vapi answered 502");
  EXPECT_LE(FailureReason(400, R"({"message":")" + std::string(2000, 'x') + "\"}").size(), 500u);
}

TEST(VapiPayloadTest, SendsOnlyVapiFieldsAndTagsOurId) {
  const nlohmann::json fields = {{"name", "n"},
                                 {"endCallAfterSilence", true},
                                 {"silenceTimeoutSeconds", 30},
                                 {"metadata", {{"team", "x"}}}};
  const auto p = domain::VapiPayload(fields, {"our-id", "inst"});
  EXPECT_FALSE(p.contains("endCallAfterSilence"));
  EXPECT_FALSE(p.contains("silenceTimeoutSeconds"));
  EXPECT_EQ(
      p["metadata"],
      (nlohmann::json{{"team", "x"}, {"assistantdId", "our-id"}, {"assistantdInstance", "inst"}}));
  EXPECT_EQ(domain::VapiPayload(nlohmann::json::object(), {"i", ""})["metadata"],
            (nlohmann::json{{"assistantdId", "i"}}));
}

TEST(VapiPayloadTest, ReadsTheTagBackAndToleratesForeignShapes) {
  const auto tag = domain::ReadRemoteTag(domain::VapiPayload({{"name", "n"}}, {"a1", "i1"}));
  EXPECT_EQ(tag.assistant_id, "a1");
  EXPECT_EQ(tag.instance_id, "i1");
  EXPECT_EQ(domain::ReadRemoteTag({{"metadata", {{"assistantdId", 7}}}}).assistant_id, "");
  EXPECT_EQ(domain::ReadRemoteTag({{"metadata", "x"}}).assistant_id, "");
  EXPECT_EQ(domain::ReadRemoteTag(nlohmann::json::array()).instance_id, "");
}

}  // namespace
}  // namespace assistantd::vapi
