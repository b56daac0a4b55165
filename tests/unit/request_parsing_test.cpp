#include "api/request_parsing.hpp"

#include <gtest/gtest.h>

namespace assistantd::api {
namespace {

std::optional<int> WaitOf(std::optional<std::string> prefer) {
  http::Request r;
  if (prefer) r.headers.emplace_back("prefer", *prefer);
  return PreferredWaitSeconds(r);
}

TEST(PreferWaitTest, ReadsTheWaitPreferenceAmongOthers) {
  EXPECT_EQ(WaitOf("wait=5"), 5);
  EXPECT_EQ(WaitOf("return=representation, wait=3"), 3);
  EXPECT_EQ(WaitOf("Wait = 2"), 2);
  EXPECT_EQ(WaitOf("wait=\"4\""), 4);
  EXPECT_EQ(WaitOf("wait=6; foo=bar, respond-async"), 6);
}

TEST(PreferWaitTest, CapsAtTenSeconds) {
  EXPECT_EQ(WaitOf("wait=60"), kMaxPreferWaitSeconds);
  EXPECT_EQ(WaitOf("wait=99999999999999999999999"), kMaxPreferWaitSeconds);
}

TEST(PreferWaitTest, IgnoresWhatItDoesNotUnderstand) {
  EXPECT_EQ(WaitOf(std::nullopt), std::nullopt);
  EXPECT_EQ(WaitOf("respond-async"), std::nullopt);
  EXPECT_EQ(WaitOf("wait=0"), std::nullopt);
  EXPECT_EQ(WaitOf("wait=-1"), std::nullopt);
  EXPECT_EQ(WaitOf("wait=soon"), std::nullopt);
  EXPECT_EQ(WaitOf("wait=1.5"), std::nullopt);
  EXPECT_EQ(WaitOf("waiting=3"), std::nullopt);
}

}  // namespace
}  // namespace assistantd::api
