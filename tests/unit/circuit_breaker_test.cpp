#include "sync/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace assistantd::sync {
namespace {

using State = CircuitBreaker::State;

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresAndProbesHalfOpen) {
  ManualClock clock(0);
  CircuitBreaker b(3, 1000, clock);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.Allow());
    b.OnFailure();
  }
  EXPECT_EQ(b.state(), State::kClosed);
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_FALSE(b.Allow());
  clock.Advance(999);
  EXPECT_FALSE(b.Allow());
  clock.Advance(1);
  EXPECT_TRUE(b.Allow());   // the probe
  EXPECT_FALSE(b.Allow());  // only one at a time
  EXPECT_EQ(b.state(), State::kHalfOpen);
  b.OnSuccess();
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_TRUE(b.Allow());
}

TEST(CircuitBreakerTest, FailedProbeOpensAgain) {
  ManualClock clock(0);
  CircuitBreaker b(1, 100, clock);
  b.OnFailure();
  clock.Advance(100);
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_FALSE(b.Allow());
}

TEST(CircuitBreakerTest, SuccessResetsTheFailureCount) {
  ManualClock clock(0);
  CircuitBreaker b(2, 100, clock);
  b.OnFailure();
  b.OnSuccess();
  b.OnFailure();
  EXPECT_EQ(b.state(), State::kClosed);
}

TEST(CircuitBreakerTest, ReleasedProbeLetsTheNextCallThrough) {
  ManualClock clock(0);
  CircuitBreaker b(1, 100, clock);
  b.OnFailure();
  clock.Advance(100);
  ASSERT_TRUE(b.Allow());
  b.ReleaseProbe();
  EXPECT_TRUE(b.Allow());
  EXPECT_EQ(b.state(), State::kHalfOpen);
}

}  // namespace
}  // namespace assistantd::sync
