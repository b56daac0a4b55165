#include "sync/backoff.hpp"

#include <algorithm>

namespace assistantd::sync {

int64_t BackoffDelayUs(const BackoffSettings& s, int attempt, double unit,
                       std::optional<int64_t> retry_after_seconds) {
  int64_t ceiling = s.base_us;
  for (int i = 0; i < attempt && ceiling < s.cap_us; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, s.cap_us);
  int64_t delay = static_cast<int64_t>(static_cast<double>(ceiling) * std::clamp(unit, 0.0, 1.0));
  if (retry_after_seconds)
    delay = std::max(delay, std::min(*retry_after_seconds * 1'000'000, s.cap_us));
  return delay;
}

}  // namespace assistantd::sync
