#include <gtest/gtest.h>

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
}  // namespace assistantd::http
