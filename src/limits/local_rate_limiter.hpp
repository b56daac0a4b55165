#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"
#include "limits/rate_limiter.hpp"

namespace assistantd::limits {

// Fixed windows counted in this process: exact for one instance.
class LocalRateLimiter final : public RateLimiter {
 public:
  explicit LocalRateLimiter(const Clock& clock) : clock_(clock) {}
  RateDecision Hit(std::string_view key, const RateLimit& limit) override;

 private:
  struct Window {
    int64_t ends_at_us = 0;
    int64_t count = 0;
  };
  void PruneLocked(int64_t now_us);

  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
  int64_t next_prune_us_ = 0;
};

}  // namespace assistantd::limits
