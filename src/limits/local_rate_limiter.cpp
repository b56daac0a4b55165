#include "limits/local_rate_limiter.hpp"

#include <algorithm>

namespace assistantd::limits {

RateDecision LocalRateLimiter::Hit(std::string_view key, const RateLimit& limit) {
  if (limit.limit <= 0) return RateDecision{true, 0, 0, 0};
  const int64_t now = clock_.NowMicros();
  std::lock_guard lock(mu_);
  if (now >= next_prune_us_) PruneLocked(now);
  Window& w = windows_[std::string(key)];
  if (w.ends_at_us <= now) w = Window{now + limit.window_seconds * 1'000'000, 0};
  ++w.count;
  RateDecision d;
  d.allowed = w.count <= limit.limit;
  d.limit = limit.limit;
  d.remaining = std::max<int64_t>(0, limit.limit - w.count);
  d.reset_seconds = std::max<int64_t>(1, (w.ends_at_us - now + 999'999) / 1'000'000);
  return d;
}

void LocalRateLimiter::PruneLocked(int64_t now_us) {
  std::erase_if(windows_, [now_us](const auto& kv) { return kv.second.ends_at_us <= now_us; });
  next_prune_us_ = now_us + 10'000'000;
}

}  // namespace assistantd::limits
