#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace assistantd::limits {

// At most `limit` hits per `window_seconds`, counted in a fixed window that starts at the
// first hit of a key. limit 0 means unlimited.
struct RateLimit {
  int64_t limit = 0;
  int64_t window_seconds = 60;
};

struct RateDecision {
  bool allowed = true;
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_seconds = 0;  // until the window ends (at least 1)
};

// Counts hits per key. Implementations: in process (LocalRateLimiter) and shared by every
// instance through Redis (RedisRateLimiter). Never fails: a limiter that cannot reach its
// store decides locally.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual RateDecision Hit(std::string_view key, const RateLimit& limit) = 0;
  // The same decision when it can be made without waiting (for a store across the network);
  // nullopt, having counted nothing, when it cannot.
  virtual std::optional<RateDecision> TryHit(std::string_view key, const RateLimit& limit) {
    return Hit(key, limit);
  }
};

// The RateLimit-Policy and RateLimit headers (draft-ietf-httpapi-ratelimit-headers) for a
// decision under the policy `name`, plus Retry-After when it refused.
std::vector<std::pair<std::string, std::string>> RateLimitHeaders(std::string_view name,
                                                                  const RateLimit& limit,
                                                                  const RateDecision& decision);

// "30/5m", "600/1m", "10/60s" → RateLimit; "0" or "off" → unlimited.
bool ParseRateLimit(std::string_view text, RateLimit& out);

}  // namespace assistantd::limits
