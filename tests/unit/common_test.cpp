#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "common/encoding.hpp"
#include "common/json_util.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"

namespace assistantd {
namespace {

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
    bytes.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Base64UrlTest, RejectsPaddingForeignCharactersAndNonCanonicalBits) {
  EXPECT_FALSE(Base64UrlDecode("YQ=="));
  EXPECT_FALSE(Base64UrlDecode("Y+Q"));
  EXPECT_FALSE(Base64UrlDecode("Y Q"));
  EXPECT_FALSE(Base64UrlDecode("Y"));
  EXPECT_TRUE(Base64UrlDecode("YQ"));
  EXPECT_FALSE(Base64UrlDecode("YR"));  // trailing bits set
}

TEST(TimeFormatTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(1767225600123456), "2026-01-01T00:00:00.123Z");
}

TEST(TimeFormatTest, ParsesRfc3339) {
  EXPECT_EQ(ParseTimestamp("2026-01-01T00:00:00Z"), 1767225600000000);
  EXPECT_EQ(ParseTimestamp("2026-01-01T00:00:00.5Z"), 1767225600500000);
  EXPECT_EQ(ParseTimestamp("2026-01-01T02:00:00+02:00"), 1767225600000000);
  EXPECT_EQ(ParseTimestamp("2026-01-01T00:00:00.123456789Z"), 1767225600123456);
  EXPECT_EQ(ParseTimestamp(FormatTimestamp(1767225600123000)), 1767225600123000);
}

TEST(TimeFormatTest, RejectsMalformedTimestamps) {
  for (const char* bad :
       {"", "2026-01-01", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:00", "2026-01-01T00:00:00Zjunk", "2026-01-01T00:00:00.Z", "yesterday"}) {
    EXPECT_FALSE(ParseTimestamp(bad)) << bad;
  }
}

TEST(UuidTest, NewUuidsAreVersion4AndDistinct) {
  const auto a = NewUuid();
  const auto b = NewUuid();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_EQ(NormalizeUuid(a), a);
}

TEST(UuidTest, NormalizesCaseAndRejectsOtherShapes) {
  EXPECT_EQ(NormalizeUuid("6F1D2C6E-0B51-4A1E-9D6A-0A1B2C3D4E5F"),
            "6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f");
  EXPECT_FALSE(NormalizeUuid("6f1d2c6e0b514a1e9d6a0a1b2c3d4e5f"));
  EXPECT_FALSE(NormalizeUuid("6f1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5g"));
  EXPECT_FALSE(NormalizeUuid("6f1d2c6e-0b51-4a1e-9d6a_0a1b2c3d4e5f"));
}

TEST(JsonUtilTest, AcceptsOrdinaryJson) {
  auto v = ParseJsonStrict(R"({"a":[1,{"b":null}],"c":"\u00e9"})");
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)["c"], "\xc3\xa9");
}

TEST(JsonUtilTest, RejectsDuplicatesAtAnyDepth) {
  EXPECT_FALSE(ParseJsonStrict(R"({"a":1,"a":2})"));
  EXPECT_FALSE(ParseJsonStrict(R"({"x":[{"a":1,"a":2}]})"));
  EXPECT_TRUE(ParseJsonStrict(R"({"x":{"a":1},"y":{"a":2}})"));
}

TEST(JsonUtilTest, RejectsDeepNestingAndBadUtf8) {
  EXPECT_FALSE(ParseJsonStrict(std::string(40, '[') + std::string(40, ']')));
  EXPECT_TRUE(ParseJsonStrict(std::string(10, '[') + std::string(10, ']')));
  const auto bad = ParseJsonStrict("\"\xff\"");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, "invalid_json");
}

// A number no double holds is bad input, not an internal error.
TEST(JsonUtilTest, NumbersOutOfRangeAreInvalidJson) {
  for (const char* text : {R"({"a":1e400})", R"({"a":-1e400})", R"([1E999])"}) {
    const auto r = ParseJsonStrict(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().reason, "invalid_json");
  }
  EXPECT_TRUE(ParseJsonStrict(R"({"a":1e300,"b":18446744073709551616})"));
}

// The message says what and where, never what was read (it may be a password).
TEST(JsonUtilTest, SyntaxErrorsNeverQuoteTheInput) {
  for (const char* text : {R"({"password":"hunter2-secret)", R"({"password":hunter2-secret})",
                           "{\"password\":\"hunter2-secret\n\"}"}) {
    const auto r = ParseJsonStrict(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("at byte"), std::string::npos) << r.error().message;
  }
}

TEST(JsonUtilTest, PrintableUtf8RefusesControlsAndMalformedSequences) {
  EXPECT_TRUE(IsPrintableUtf8("Bot \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  for (const std::string& bad :
       {std::string(1, '\0'), std::string("a\x01"), std::string("\x7f"), std::string("\xc3"),
        std::string("\xc0\xaf"), std::string("\xe0\x80\xaf"), std::string("\xed\xa0\x80"),
        std::string("\xf4\x90\x80\x80"), std::string("\xff"), std::string("\xe2\x82")}) {
    EXPECT_FALSE(IsPrintableUtf8(bad))
        << nlohmann::json(bad).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  }
}

TEST(EncodingTest, HexAndRandomBytes) {
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(16), RandomBytes(16));
}

TEST(JsonUtilTest, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 3u);
}

TEST(MetricsTest, RendersCountersAndHistograms) {
  MetricsRegistry m;
  m.DeclareCounter("c_total", "help c");
  m.DeclareHistogram("h_seconds", "help h", {0.1, 1});
  m.DeclareGauge("g", "help g", [] { return 7.0; });
  m.Counter("c_total", {{"k", "v\"q"}}).Inc(3);
  m.Histogram("h_seconds").Observe(0.05);
  m.Histogram("h_seconds").Observe(5);
  const auto text = m.Render();
  EXPECT_NE(text.find("c_total{k=\"v\\\"q\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_bucket{le=\"0.1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_count 2"), std::string::npos);
  EXPECT_NE(text.find("g 7"), std::string::npos);
  EXPECT_NE(text.find("# TYPE h_seconds histogram"), std::string::npos);
}

TEST(MetricsTest, UndeclaredMetricIsAProgrammingError) {
  MetricsRegistry m;
  EXPECT_THROW(m.Counter("nope"), std::logic_error);
}

}  // namespace
TEST(LoggingTest, LinesFromManyThreadsArriveWholeInOrderAndWarningsAtOnce) {
  char path[] = "/tmp/assistantd-log-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const auto contents = [&] {
    std::ifstream in(path);
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
  };
  {
    LogFactory logs("info", fd);
    constexpr int kThreads = 4, kLines = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const auto log = logs.Make("t" + std::to_string(t));
        for (int i = 0; i < kLines; ++i) {
          LogEvent(log, spdlog::level::info, "line", {{"i", i}, {"pad", std::string(100, 'x')}});
        }
      });
    }
    for (auto& t : threads) t.join();
    // A warning is written before LogEvent returns, with everything logged before it.
    LogEvent(logs.Make("app"), spdlog::level::warn, "last");
    const std::string text = contents();
    std::vector<int> next(kThreads, 0);
    std::istringstream lines(text);
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
      const auto j = nlohmann::json::parse(line);  // each line one whole JSON object
      ++count;
      if (j["msg"] == "last") {
        EXPECT_EQ(j["level"], "warn");  // as --log-level and the docs name it
        continue;
      }
      EXPECT_EQ(j["level"], "info");
      const int t = std::stoi(j["logger"].get<std::string>().substr(1));
      EXPECT_EQ(j["i"], next[static_cast<size_t>(t)]++) << "in order per thread";
    }
    EXPECT_EQ(count, kThreads * kLines + 1);
    EXPECT_TRUE(text.ends_with("\"msg\":\"last\"}\n"));
    // Info lines are written in the background; Flush waits for them.
    LogEvent(logs.Make("app"), spdlog::level::info, "after");
    logs.Flush();
    EXPECT_NE(contents().find("\"msg\":\"after\""), std::string::npos);
  }
  close(fd);
  unlink(path);
}

}  // namespace assistantd
