// Regressions of what black-box probing found: request smuggling through the body's framing,
// out-of-range numbers, inputs that matched or said too much. Each test failed before its fix.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

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

// 100 assistants of 1 MB each made one page a 105 MB answer. Now strings, assistants and pages
// are bounded, and a page that reaches its byte budget ends early with a cursor.
TEST_F(SecurityTest, WhatOneRequestCanMakeTheServerHoldIsBounded) {
  const auto alice = NewActor();
  const std::string text(30 * 1024, 't');
  const auto long_text = client().Call("POST", "/v1/assistants", alice.token,
                                       json{{"firstMessage", std::string(33 * 1024, 'x')}}.dump());
  ASSERT_EQ(long_text.status, 400) << long_text.body.substr(0, 300);
  EXPECT_EQ(long_text.Json()["error"]["details"][0]["field"], "firstMessage");
  const auto too_big = client().Call(
      "POST", "/v1/assistants", alice.token,
      json{{"metadata", {{"a", text}, {"b", text}, {"c", text}, {"d", text}, {"e", text}}}}.dump());
  EXPECT_EQ(too_big.status, 400) << too_big.body.substr(0, 300);
  EXPECT_EQ(CountVisible(alice), 0u);

  for (int i = 0; i < 10; ++i) {
    CreateAssistant(alice, {{"name", "Big " + std::to_string(i)},
                            {"firstMessage", text},
                            {"metadata", {{"a", text}, {"b", text}, {"c", text}}}});
  }
  const auto first = client().Call("GET", "/v1/assistants?limit=100", alice.token);
  ASSERT_EQ(first.status, 200);
  const auto page = first.Json();
  EXPECT_LT(page["data"].size(), 10u);
  EXPECT_LT(first.body.size(), 1200u * 1024);
  ASSERT_TRUE(page["nextCursor"].is_string());
  EXPECT_EQ(CountVisible(alice), 10u);  // the cursor walks on to every one
}

}  // namespace
}  // namespace assistantd::testing

namespace assistantd::testing {
namespace {

// `Prefer: wait` once parked a handler thread per waiting request: four of them froze every
// other request, health checks included. Now a wait holds no thread and waits are bounded.
class WaitingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // No sync workers: every job stays queued, so every wait lasts its whole N seconds. Two
    // handler threads: fewer than the waits below.
    server_.reset();
    server_ = ServerProcess::Start({.args = {"--sync-workers", "0", "--worker-threads", "2",
                                             "--max-waits", "6", "--max-waits-per-user", "3"}});
  }

  // Sends `n` waiting creates for `user` on their own connections; `done` counts answers.
  void StartWaits(const std::string& user, int n) {
    const std::string token = server_->Token(user);
    for (int i = 0; i < n; ++i) {
      waits_.emplace_back([this, token] {
        HttpClient c(server_->port());
        const auto r = c.Call("POST", "/v1/assistants", token, R"({"name":"Waiting"})",
                              {{"Prefer", "wait=4"}});
        std::lock_guard lock(mu_);
        answers_.push_back(r);
      });
    }
  }
  int WaitsOpen(HttpClient& client) {
    const auto metrics = client.Send("GET", "/metrics").body;
    const auto at = metrics.find("\nassistantd_sync_waits ");
    return at == std::string::npos ? -1 : std::stoi(metrics.substr(at + 23));
  }
  size_t Answered() {
    std::lock_guard lock(mu_);
    return answers_.size();
  }
  void TearDown() override {
    for (auto& t : waits_) t.join();
  }

  std::unique_ptr<ServerProcess> server_;
  std::vector<std::thread> waits_;
  std::mutex mu_;
  std::vector<HttpResult> answers_;
};

TEST_F(WaitingTest, WaitsHoldNoThreadAndAreBoundedPerCallerAndInTotal) {
  const std::string alice = NewUuid();
  const std::string bob = NewUuid();
  StartWaits(alice, 3);
  StartWaits(bob, 3);
  HttpClient client(server_->port());
  // Every request below is answered while six waits are open on two handler threads.
  while (WaitsOpen(client) < 6 && Answered() == 0) {
  }
  ASSERT_EQ(WaitsOpen(client), 6);
  EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
  EXPECT_EQ(client.Send("GET", "/readyz").status, 200);
  const std::string carol = server_->Token(NewUuid());
  EXPECT_EQ(client.Call("GET", "/v1/assistants", carol).status, 200);
  // Over the bounds (alice's own, then everyone's), the preference is ignored: answered now.
  const auto over_alice = client.Call("POST", "/v1/assistants", server_->Token(alice),
                                      R"({"name":"Now"})", {{"Prefer", "wait=4"}});
  EXPECT_EQ(over_alice.status, 201) << over_alice.body;
  EXPECT_FALSE(over_alice.HasHeader("preference-applied"));
  const auto over_all =
      client.Call("POST", "/v1/assistants", carol, R"({"name":"Now"})", {{"Prefer", "wait=4"}});
  EXPECT_EQ(over_all.status, 201);
  EXPECT_FALSE(over_all.HasHeader("preference-applied"));
  EXPECT_EQ(Answered(), 0u) << "a wait ended before the requests it must not hold up";

  for (auto& t : waits_) t.join();
  waits_.clear();
  ASSERT_EQ(answers_.size(), 6u);
  for (const auto& r : answers_) {
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.Header("preference-applied"), "wait=4");
    EXPECT_EQ(r.Json()["syncStatus"], "pending");
  }
  EXPECT_EQ(WaitsOpen(client), 0);
  EXPECT_NE(client.Send("GET", "/metrics").body.find("assistantd_sync_waits_refused_total 2"),
            std::string::npos);
}

}  // namespace
}  // namespace assistantd::testing

namespace assistantd::testing {
namespace {

// A raw TCP connection to the server from `source` (any 127/8 address is loopback on Linux,
// so tests can play several clients).
class RawConnection {
 public:
  RawConnection(uint16_t port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
    const timeval limit{10, 0};  // a safety net against a hung test, not a synchronisation
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  // Sends `request` (if any) and reads until the server closes or a complete answer arrived.
  std::string Exchange(const std::string& request = "") {
    if (!request.empty() && ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) < 0)
      return {};
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
      const auto end = out.find("\r\n\r\n");
      const auto length = out.find("Content-Length: ");
      if (end != std::string::npos && length != std::string::npos &&
          out.size() >= end + 4 + std::stoul(out.substr(length + 16))) {
        return out;
      }
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

const std::string kHealth = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

bool Refused(const std::string& answer) {
  return answer.starts_with("HTTP/1.1 503") &&
         answer.find("too_many_connections") != std::string::npos;
}

// One client held 4,000 idle connections. Now each address has a cap, and others still get in.
TEST(ConnectionLimitTest, OneClientCannotHoldMoreThanItsShare) {
  auto server =
      ServerProcess::Start({.args = {"--sync-workers", "0", "--max-connections-per-ip", "5"}});
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 5; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server->port()));
    // An answered request proves the server counted this connection.
    ASSERT_TRUE(idle.back()->Exchange(kHealth).starts_with("HTTP/1.1 200"));
  }
  RawConnection sixth(server->port());
  EXPECT_TRUE(Refused(sixth.Exchange(kHealth)));
  RawConnection other(server->port(), "127.0.0.2");
  EXPECT_TRUE(other.Exchange(kHealth).starts_with("HTTP/1.1 200"));
  // A freed place is usable again (the server sees the close in its own time: ask until then).
  idle.pop_back();
  bool admitted = false;
  for (int attempt = 0; attempt < 1000 && !admitted; ++attempt) {
    admitted = RawConnection(server->port()).Exchange(kHealth).starts_with("HTTP/1.1 200");
  }
  EXPECT_TRUE(admitted);
  // Scraped from another address: the last probe's place may not be free yet.
  RawConnection scraper(server->port(), "127.0.0.3");
  const auto metrics = scraper.Exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(metrics.starts_with("HTTP/1.1 200")) << metrics.substr(0, 200);
  EXPECT_NE(metrics.find("assistantd_http_connections_refused_total{reason=\"per_ip\"}"),
            std::string::npos);
  EXPECT_TRUE(server->WaitForLog("connection limit reached"));
}

// A refused connection lingered 5 s with a 64 KiB buffer to read what the client might still
// send: 5,000 refusals took the server's memory up 260 MiB. Now a lingering connection holds
// 4 KiB, and at most 1,024 linger at once (the others are closed at once).
TEST(ConnectionLimitTest, RefusedConnectionsCostLittleMemory) {
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  files.rlim_cur = files.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur < 3000) GTEST_SKIP() << "needs 3,000 descriptors";
  auto server =
      ServerProcess::Start({.args = {"--sync-workers", "0", "--max-connections-per-ip", "1"}});
  RawConnection admitted(server->port());
  ASSERT_TRUE(admitted.Exchange(kHealth).starts_with("HTTP/1.1 200"));
  const size_t before = server->ResidentKib();
  std::vector<std::unique_ptr<RawConnection>> refused;
  for (int i = 0; i < 2500; ++i) {
    refused.push_back(std::make_unique<RawConnection>(server->port()));
    // The 503 arrives at once; the client keeps its side open, so the server lingers.
    ASSERT_TRUE(Refused(refused.back()->Exchange())) << i;
  }
  const size_t after = server->ResidentKib();
  RawConnection scraper(server->port(), "127.0.0.3");
  const auto metrics = scraper.Exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto at = metrics.find("\nassistantd_http_connections_lingering ");
  ASSERT_NE(at, std::string::npos) << metrics.substr(0, 300);
  EXPECT_LE(std::stod(metrics.substr(at + 39)), 1024.0);
  // 2,500 × 64 KiB was 156 MiB; now at most 1,024 × (4 KiB and a session).
  EXPECT_LT(after - std::min(after, before), 32u * 1024) << before << " KiB -> " << after << " KiB";
}

TEST(ConnectionLimitTest, TheServerWideCapHolds) {
  auto server = ServerProcess::Start(
      {.args = {"--sync-workers", "0", "--max-connections", "4", "--max-connections-per-ip", "0"}});
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 4; ++i) {
    const std::string from = "127.0.0." + std::to_string(10 + i);
    idle.push_back(std::make_unique<RawConnection>(server->port(), from.c_str()));
    ASSERT_TRUE(idle.back()->Exchange(kHealth).starts_with("HTTP/1.1 200"));
  }
  RawConnection fifth(server->port(), "127.0.0.20");
  EXPECT_TRUE(Refused(fifth.Exchange(kHealth)));
}

// At the descriptor limit the accept loop spun at full CPU and the server stopped answering.
// Now it backs off, says so, and serves again once descriptors are free.
TEST(ConnectionLimitTest, RunningOutOfDescriptorsIsSurvived) {
  auto server = ServerProcess::Start({.args = {"--sync-workers", "0", "--max-connections", "1000",
                                               "--max-connections-per-ip", "0"},
                                      .max_open_files = 64});
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int i = 0; i < 80; ++i) {
    flood.push_back(std::make_unique<RawConnection>(server->port()));
  }
  EXPECT_TRUE(server->WaitForLog("cannot accept connections"));
  flood.clear();
  bool served = false;
  for (int attempt = 0; attempt < 1000 && !served; ++attempt) {
    served = RawConnection(server->port()).Exchange(kHealth).starts_with("HTTP/1.1 200");
  }
  EXPECT_TRUE(served);
  EXPECT_NE(server->Logs().find("Too many open files"), std::string::npos);
}

}  // namespace
}  // namespace assistantd::testing
