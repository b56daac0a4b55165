#pragma once

#include <cstdint>
#include <mutex>

#include "common/clock.hpp"

namespace assistantd::sync {

// Stops calling Vapi while it is down. Closed: calls flow. After `threshold` consecutive
// transient failures it opens: no calls for `open_us`. Then half-open: exactly one probe call
// is let through; its success closes the breaker, its failure opens it again.
class CircuitBreaker {
 public:
  enum class State { kClosed = 0, kHalfOpen = 1, kOpen = 2 };

  CircuitBreaker(int threshold, int64_t open_us, const Clock& clock)
      : threshold_(threshold), open_us_(open_us), clock_(clock) {}

  // May a call start now? In half-open, true once until the probe reports.
  bool Allow();
  // Vapi answered (success or a permanent 4xx: it is up).
  void OnSuccess();
  // A transient failure (timeout, reset, 5xx, 429).
  void OnFailure();
  // The call allowed by Allow() was not made after all (nothing to do): a half-open breaker
  // may let the next one through. Changes nothing else.
  void ReleaseProbe();
  State state();

 private:
  const int threshold_;
  const int64_t open_us_;
  const Clock& clock_;
  std::mutex mu_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t opened_at_us_ = 0;
  bool probe_in_flight_ = false;
};

}  // namespace assistantd::sync
