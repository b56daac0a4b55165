#include "sync/backoff.hpp"

#include <gtest/gtest.h>

namespace assistantd::sync {
namespace {

TEST(BackoffTest, CeilingDoublesPerAttemptUpToTheCap) {
  const BackoffSettings s{100, 1000};
  // unit → 1 gives the ceiling itself.
  EXPECT_EQ(BackoffDelayUs(s, 0, 1.0), 100);
  EXPECT_EQ(BackoffDelayUs(s, 1, 1.0), 200);
  EXPECT_EQ(BackoffDelayUs(s, 3, 1.0), 800);
  EXPECT_EQ(BackoffDelayUs(s, 4, 1.0), 1000);
  EXPECT_EQ(BackoffDelayUs(s, 60, 1.0), 1000);  // no overflow on large attempts
}

TEST(BackoffTest, FullJitterSpansZeroToTheCeiling) {
  const BackoffSettings s{100, 1000};
  EXPECT_EQ(BackoffDelayUs(s, 2, 0.0), 0);
  EXPECT_EQ(BackoffDelayUs(s, 2, 0.5), 200);
  EXPECT_EQ(BackoffDelayUs(s, 2, 7.0), 400);  // draws are clamped to [0, 1]
}

TEST(BackoffTest, RetryAfterIsAFloorWithinTheCap) {
  const BackoffSettings s{100'000, 60'000'000};
  EXPECT_EQ(BackoffDelayUs(s, 0, 0.0, 3), 3'000'000);
  EXPECT_EQ(BackoffDelayUs(s, 0, 0.0, 3600), 60'000'000);
  EXPECT_EQ(BackoffDelayUs(s, 9, 1.0, 1), 51'200'000);  // the larger of the two
}

}  // namespace
}  // namespace assistantd::sync
