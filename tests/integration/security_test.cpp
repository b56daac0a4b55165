// Regressions of what black-box probing found: request smuggling through the body's framing,
// out-of-range numbers, inputs that matched or said too much. Each test failed before its fix.
#include <gtest/gtest.h>

#include <sstream>

#include "common/encoding.hpp"
#include "integration/api_fixture.hpp"

namespace assistantd::testing {
namespace {

using nlohmann::json;

class SecurityTest : public ApiTest {
 protected:
  // Responses in a raw exchange (each starts with a status line).
  static int CountResponses(const std::string& raw) {
    int n = 0;
    for (size_t pos = raw.find("HTTP/1.1 "); pos != std::string::npos;
         pos = raw.find("HTTP/1.1 ", pos + 1)) {
      ++n;
    }
    return n;
  }
  static std::string Status(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }
};

// A body whose length the server and a proxy could read differently is refused and the
// connection closed, so the bytes after the header never run as a request of their own.
TEST_F(SecurityTest, AmbiguousBodyFramingIsRefusedAndEndsTheConnection) {
  const auto alice = NewActor();
  const std::string hidden =
      "GET /v1/assistants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice.token + "\r\n\r\n";
  const auto post = [&](const std::string& framing, const std::string& body) {
    return RawExchange(server().port(),
                       "POST /v1/assistants HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer " +
                           alice.token + "\r\nContent-Type: application/json\r\n" + framing +
                           "\r\n" + body);
  };
  struct Case {
    std::string framing;
    std::string status;
  };
  for (const Case& c : std::vector<Case>{
           {"Transfer-Encoding: gzip\r\n", "HTTP/1.1 400 Bad Request"},
           {"Transfer-Encoding: chunked, gzip\r\n", "HTTP/1.1 400 Bad Request"},
           {"Transfer-Encoding: gzip, chunked\r\n", "HTTP/1.1 501 Not Implemented"},
           // chunked applied twice is no framing at all (the parser refuses it first)
           {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "HTTP/1.1 400 Bad Request"},
           {"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n", "HTTP/1.1 400 Bad Request"},
           {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "HTTP/1.1 400 Bad Request"},
       }) {
    const auto raw = post(c.framing, hidden);
    EXPECT_EQ(Status(raw), c.status) << c.framing;
    EXPECT_EQ(CountResponses(raw), 1) << c.framing << raw;
    EXPECT_NE(raw.find("Connection: close"), std::string::npos) << c.framing;
  }
  EXPECT_EQ(CountVisible(alice), 0u);
  // Plain chunked still works.
  const std::string body = R"({"name":"Chunked"})";
  std::ostringstream chunk;
  chunk << std::hex << body.size() << "\r\n" << body << "\r\n0\r\n\r\n";
  const auto raw = post("Transfer-Encoding: chunked\r\nConnection: close\r\n", chunk.str());
  EXPECT_EQ(Status(raw), "HTTP/1.1 201 Created") << raw;
  EXPECT_EQ(CountVisible(alice), 1u);
}

TEST_F(SecurityTest, TransferEncodingInHttp10IsRefused) {
  const auto raw = RawExchange(server().port(),
                               "POST /v1/assistants HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "0\r\n\r\n");
  EXPECT_EQ(Status(raw).substr(9, 3), "400") << raw;
}

TEST_F(SecurityTest, ARequestNeedsExactlyOneHost) {
  const auto none = RawExchange(server().port(), "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(Status(none), "HTTP/1.1 400 Bad Request") << none;
  EXPECT_NE(none.find("bad_host"), std::string::npos);
  const auto two =
      RawExchange(server().port(), "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_EQ(Status(two), "HTTP/1.1 400 Bad Request") << two;
  const auto old = RawExchange(server().port(), "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(Status(old).substr(9, 3), "200") << old;
}

// RFC 9112 §2.2: an empty line before the request line (left over after a body) is ignored.
TEST_F(SecurityTest, EmptyLinesBeforeARequestAreIgnored) {
  const auto raw = RawExchange(server().port(),
                               "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                               "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(CountResponses(raw), 2) << raw;
  EXPECT_EQ(Status(raw), "HTTP/1.1 200 OK");
  // But not without end.
  const auto flood =
      RawExchange(server().port(), std::string(64, '\n') + "GET /healthz HTTP/1.1\r\n");
  EXPECT_EQ(Status(flood), "HTTP/1.1 400 Bad Request") << flood;
}

// A number no double can hold is bad input wherever it appears, never a 500.
TEST_F(SecurityTest, NumbersOutOfRangeAreBadInput) {
  const auto alice = NewActor();
  for (const std::string body :
       {R"({"name":"x","maxDurationSeconds":1e400})", R"({"name":"x","metadata":{"n":-1e400}})"}) {
    const auto r = client().Call("POST", "/v1/assistants", alice.token, body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "invalid_json");
  }
  // In a token's header, which is read before its signature is checked.
  const std::string dot1 = alice.token.substr(0, alice.token.find('.'));
  const std::string forged =
      Base64UrlEncode(R"({"alg":"HS256","typ":"JWT","n":1e400})") + alice.token.substr(dot1.size());
  const auto r = client().Call("GET", "/v1/assistants", forged);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(CountVisible(alice), 0u);
}

// A NUL ends a pattern early in the database; it matched every assistant.
TEST_F(SecurityTest, SearchTextMustBePrintableUtf8) {
  const auto alice = NewActor();
  CreateAssistant(alice, {{"name", "Support"}});
  for (const char* q : {"%00", "a%00b", "%01", "%C3", "%FF%FE"}) {
    const auto r = client().Call("GET", std::string("/v1/assistants?q=") + q, alice.token);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_EQ(r.Json()["error"]["details"][0]["field"], "q") << q;
  }
  const auto r = client().Call("GET", "/v1/assistants?q=%C3%A9t%C3%A9", alice.token);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.Json()["data"].empty());
}

// A small request cannot make a large error: the details are bounded in number and length.
TEST_F(SecurityTest, ErrorDetailsAreBounded) {
  const auto alice = NewActor();
  std::string fields;
  for (int i = 0; i < 1500; ++i) fields += (i ? "," : "") + std::string("nope") + std::to_string(i);
  const auto r = client().Call("GET", "/v1/assistants?fields=" + fields, alice.token);
  ASSERT_EQ(r.status, 400) << r.body.substr(0, 200);
  EXPECT_LT(r.body.size(), 8192u);
  const auto details = r.Json()["error"]["details"];
  ASSERT_EQ(details.size(), 21u);
  EXPECT_EQ(details.back()["message"], "1480 more problems are not listed");
  const auto long_name =
      client().Call("GET", "/v1/assistants?fields=" + std::string(5000, 'z'), alice.token);
  ASSERT_EQ(long_name.status, 400);
  EXPECT_LT(long_name.body.size(), 1024u);
}

}  // namespace
}  // namespace assistantd::testing
