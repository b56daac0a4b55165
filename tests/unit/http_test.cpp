#include <gtest/gtest.h>

#include "http/conditional.hpp"
#include "http/error_mapping.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace assistantd::http {
namespace {

Result<Response> Ok(RequestContext&) { return Response::Empty(204); }

TEST(RouterTest, MatchesPathParametersAndListsAllowedMethods) {
  Router r;
  r.Add("GET", "/v1/assistants", Access::kAuthenticated, Ok);
  r.Add("GET", "/v1/assistants/{id}", Access::kAuthenticated, Ok);
  r.Add("DELETE", "/v1/assistants/{id}", Access::kAuthenticated, Ok);
  const auto m = r.Match("GET", "/v1/assistants/abc");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/v1/assistants/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second, "abc");
  const auto wrong = r.Match("PUT", "/v1/assistants/abc");
  EXPECT_EQ(wrong.route, nullptr);
  EXPECT_EQ(wrong.allowed, (std::vector<std::string>{"GET", "DELETE", "OPTIONS"}));
  EXPECT_TRUE(r.Match("GET", "/v1/other").allowed.empty());
  EXPECT_EQ(r.Match("GET", "/v1/assistants//").route, nullptr);
  EXPECT_NE(r.Match("GET", "/v1/assistants/").route, nullptr);
}

TEST(QueryTest, DecodesPercentAndPlus) {
  const auto q = ParseQuery("a=1&b=x%20y+z&empty=&flag");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[1].second, "x y z");
  EXPECT_EQ((*q)[2].second, "");
  EXPECT_EQ((*q)[3].first, "flag");
  EXPECT_FALSE(ParseQuery("a=%2"));
  EXPECT_FALSE(ParseQuery("a=%zz"));
}

TEST(ErrorMappingTest, OneShapeWithoutInternals) {
  const Error e{ErrorCode::kUnauthenticated, "token_expired", "Token has expired",
                nlohmann::json::array(), "secret internal detail"};
  const Response r = ErrorResponse(e, "rid");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body.find("secret internal"), std::string::npos);
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "token_expired");
  EXPECT_EQ(body["error"]["requestId"], "rid");
  EXPECT_NE(r.Header("WWW-Authenticate")->find("invalid_token"), std::string::npos);
  EXPECT_EQ(HttpStatus(ErrorCode::kQuotaExceeded), 403);
  EXPECT_EQ(HttpStatus(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(ErrorResponse(Error{ErrorCode::kUnavailable, "database_busy", "busy", {}, {}}, "r")
                .Header("Retry-After"),
            "1");
}

}  // namespace

// --- Entity tags and conditional requests (RFC 9110 §8.8.3, §13) ---------------------------

TEST(EntityTagTest, TagsAreDigestsOfTheBytes) {
  const auto tag = StrongEtag("{\"a\":1}");
  EXPECT_EQ(tag, StrongEtag("{\"a\":1}"));
  EXPECT_NE(tag, StrongEtag("{\"a\":2}"));
  EXPECT_EQ(tag.size(), 24u);  // "…22 base64url…"
  EXPECT_EQ(tag.front(), '"');
  EXPECT_EQ(tag.back(), '"');
  EXPECT_EQ(WeakEtag("{\"a\":1}"), "W/" + tag);
}

TEST(EntityTagTest, IfNoneMatchComparesWeakly) {
  const std::string tag = "\"abc\"";
  EXPECT_TRUE(NoneMatchHits("\"abc\"", tag));
  EXPECT_TRUE(NoneMatchHits("W/\"abc\"", tag));
  EXPECT_TRUE(NoneMatchHits("\"abc\"", "W/\"abc\""));
  EXPECT_TRUE(NoneMatchHits("\"x\", \"abc\"", tag));
  EXPECT_TRUE(NoneMatchHits(",\"x\" ,\t\"abc\",", tag));  // empty members and OWS
  EXPECT_TRUE(NoneMatchHits(" * ", tag));
  EXPECT_FALSE(NoneMatchHits("\"abcd\"", tag));
  EXPECT_FALSE(NoneMatchHits("abc", tag));              // not quoted
  EXPECT_FALSE(NoneMatchHits("\"abc", tag));            // unterminated
  EXPECT_FALSE(NoneMatchHits("\"abc\" \"abc\"", tag));  // no comma between
  EXPECT_FALSE(NoneMatchHits("\"a bc\"", "\"a bc\""));  // space is not an etagc
  EXPECT_FALSE(NoneMatchHits("", tag));
}

TEST(EntityTagTest, IfMatchComparesStronglyAndWeakTagsNeverMatch) {
  const std::string tag = "\"abc\"";
  EXPECT_TRUE(MatchHolds("\"abc\"", tag));
  EXPECT_TRUE(MatchHolds("\"x\", \"abc\"", tag));
  EXPECT_TRUE(MatchHolds("*", tag));
  EXPECT_FALSE(MatchHolds("W/\"abc\"", tag));
  EXPECT_FALSE(MatchHolds("\"abc\"", "W/\"abc\""));
  EXPECT_FALSE(MatchHolds("\"ABC\"", tag));  // case-sensitive
  EXPECT_FALSE(MatchHolds("\"abc\", garbage", tag));
}

TEST(EntityTagTest, RevalidationNeedsA200GetWithAMatchingTag) {
  Response full = Response::Json(200, {{"a", 1}});
  full.SetHeader("ETag", "\"t\"");
  full.SetHeader("Cache-Control", "private, no-cache");
  Request get;
  get.method = "GET";
  get.headers = {{"if-none-match", "\"u\""}, {"if-none-match", "\"t\""}};  // split over lines
  const auto not_modified = RevalidateGet(get, full);
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_TRUE(not_modified->body.empty());
  EXPECT_EQ(not_modified->Header("ETag"), "\"t\"");
  EXPECT_EQ(not_modified->Header("Cache-Control"), "private, no-cache");
  EXPECT_FALSE(not_modified->Header("Content-Type"));

  Request post = get;
  post.method = "POST";
  EXPECT_FALSE(RevalidateGet(post, full));
  Response created = full;
  created.status = 201;
  EXPECT_FALSE(RevalidateGet(get, created));
  get.headers = {{"if-none-match", "\"u\""}};
  EXPECT_FALSE(RevalidateGet(get, full));
}

}  // namespace assistantd::http
