#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "limits/local_rate_limiter.hpp"
#include "limits/rate_limiter.hpp"

struct redisContext;

namespace assistantd::limits {

struct RedisSettings {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // AUTH when set; never logged
  int database = 0;
  int timeout_ms = 250;
  std::string key_prefix = "assistantd:rl:";
};

// "redis://[:password@]host[:port][/db]" → settings.
Result<RedisSettings> ParseRedisUrl(const std::string& url);

// Fixed windows counted in Redis (a Lua script, so a window's counter and its expiry are set
// atomically and timed by Redis itself): every instance sharing the Redis server enforces one
// limit, and never admits more than it. An instance reserves hits in Redis and spends them
// locally: one at a time at first, twice as many each time a reservation is used up within
// its window (at most kMaxReservation), and never more than an eighth of what the window has
// left, so a busy key costs one round trip per many requests while a quiet one stays exact
// and the instances share the end of a window (an instance may be refused while another
// still holds a few reserved hits: the bound errs on the side of admitting fewer). While
// Redis cannot be reached it decides with a local limiter, logs once per outage and counts
// the fallbacks.
class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(RedisSettings settings, const Clock& clock, Logger logger,
                   MetricsRegistry& metrics);
  ~RedisRateLimiter() override;

  // Connects once, so a wrong address or password fails start-up with one clear line.
  Result<void> Check();
  RateDecision Hit(std::string_view key, const RateLimit& limit) override;
  // From this instance's lease or a key known to be over its limit; nullopt when it takes a
  // round trip.
  std::optional<RateDecision> TryHit(std::string_view key, const RateLimit& limit) override;

  static constexpr int64_t kMaxReservation = 64;

 private:
  struct Connection;
  std::string FullKey(std::string_view key, const RateLimit& limit) const;
  // What the lease or the blocked list decide without Redis. With `want` (Hit), a spent lease
  // or an expired block is dropped and `want` says how many hits to reserve next; without it
  // (TryHit) nothing is changed unless a hit is spent.
  std::optional<RateDecision> Decide(const std::string& full_key, const RateLimit& limit,
                                     int64_t now, int64_t* want);
  std::unique_ptr<Connection> Borrow();
  void Return(std::unique_ptr<Connection> conn);
  Result<std::unique_ptr<Connection>> Connect() const;

  RedisSettings settings_;
  const Clock& clock_;
  Logger logger_;
  MetricsRegistry& metrics_;
  LocalRateLimiter fallback_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  bool degraded_ = false;       // logging: one line when Redis goes away, one when it is back
  int64_t retry_after_us_ = 0;  // no reconnect attempt before this while degraded
  // Keys known to be over their limit until their window ends: a window's count only grows,
  // so these are refused without a round trip (a flood costs Redis nothing) and stay exact.
  struct Blocked {
    int64_t until_us = 0;
    int64_t limit = 0;
  };
  std::unordered_map<std::string, Blocked> blocked_;
  // Hits reserved in Redis for this instance in a key's current window.
  struct Lease {
    int64_t until_us = 0;  // the window's end
    int64_t limit = 0;
    int64_t granted = 0;
    int64_t used = 0;
    int64_t count = 0;  // the window's count in Redis after the reservation
  };
  std::unordered_map<std::string, Lease> leases_;
};

}  // namespace assistantd::limits
