#include "sync/circuit_breaker.hpp"

namespace assistantd::sync {

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  if (state_ == State::kOpen && clock_.NowMicros() >= opened_at_us_ + open_us_) {
    state_ = State::kHalfOpen;
    probe_in_flight_ = false;
  }
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      return false;
    case State::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::OnSuccess() {
  std::lock_guard lock(mu_);
  state_ = State::kClosed;
  failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::OnFailure() {
  std::lock_guard lock(mu_);
  ++failures_;
  if (state_ == State::kHalfOpen || failures_ >= threshold_) {
    state_ = State::kOpen;
    opened_at_us_ = clock_.NowMicros();
    probe_in_flight_ = false;
  }
}

CircuitBreaker::State CircuitBreaker::state() {
  std::lock_guard lock(mu_);
  return state_;
}

void CircuitBreaker::ReleaseProbe() {
  std::lock_guard lock(mu_);
  probe_in_flight_ = false;
}

}  // namespace assistantd::sync
