#pragma once

#include <cstdint>
#include <optional>

namespace assistantd::sync {

struct BackoffSettings {
  int64_t base_us = 500'000;    // first retry within 0.5 s
  int64_t cap_us = 60'000'000;  // never wait more than a minute between attempts
};

// "Full jitter" exponential backoff: a uniform delay in [0, min(cap, base × 2^attempt)],
// where `unit` ∈ [0, 1) is the random draw. A server's Retry-After, when given, is a floor
// (capped like the rest).
int64_t BackoffDelayUs(const BackoffSettings& settings, int attempt, double unit,
                       std::optional<int64_t> retry_after_seconds = std::nullopt);

}  // namespace assistantd::sync
