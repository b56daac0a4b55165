#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/jwt.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"

namespace assistantd::auth {

struct JwksSourceSettings {
  std::string url;                      // https://…/auth/v1/.well-known/jwks.json
  int64_t unknown_kid_interval_s = 30;  // refreshes for an unknown kid: at most this often
  int64_t default_max_age_s = 600;      // when the answer has no Cache-Control max-age
  int64_t min_max_age_s = 60;           // bounds on the honoured max-age
  int64_t max_max_age_s = 86400;
  int64_t retry_after_failure_s = 30;  // a failed refresh is retried this much later
  long connect_timeout_ms = 2000;
  long timeout_ms = 5000;
  size_t max_bytes = size_t{256} << 10;
};

// max-age from a Cache-Control header value, in seconds: nullopt when absent or malformed,
// 0 for no-store / no-cache.
std::optional<int64_t> CacheControlMaxAge(std::string_view cache_control);

// The URL is acceptable as a JWKS source: https, or http to a loopback address only.
Result<void> CheckJwksUrl(const std::string& url);

// Public keys from a JWK Set URL (a Supabase project's /auth/v1/.well-known/jwks.json),
// kept in the registry's "jwks-url" part. Fetched with libcurl (no redirects, timeouts, a
// size cap), refreshed when its Cache-Control max-age lapses and, for a token with an
// unknown kid, at most once per interval. A failed or unusable answer keeps the last good
// keys (a warning, a metric): the set is never emptied by a bad answer. Symmetric (oct) keys
// are never taken from a URL.
class JwksSource {
 public:
  JwksSource(JwksSourceSettings settings, KeyRegistry& registry, const Clock& clock, Logger logger,
             MetricsRegistry& metrics);
  ~JwksSource();
  JwksSource(const JwksSource&) = delete;
  JwksSource& operator=(const JwksSource&) = delete;

  // The first fetch, in the caller's thread; an error names why it failed.
  Result<void> Load();
  // Background refreshes (when max-age lapses; after a failure, every retry interval).
  void Start();
  void Stop();
  // For KeyRegistry: refresh now unless one ran within the interval; waits for a refresh
  // already under way. True if the keys may have changed.
  bool RefreshForUnknownKid();

 private:
  struct Fetched {
    std::vector<VerificationKey> keys;
    int64_t max_age_s = 0;
  };
  Result<Fetched> Fetch() const;
  // One fetch, installed in the registry when usable; the lock must not be held.
  Result<void> Refresh(const char* reason);
  // Refresh, with a warning (the last good keys stay) when it fails.
  bool RefreshOrWarn(const char* reason);

  const JwksSourceSettings settings_;
  KeyRegistry& registry_;
  const Clock& clock_;
  Logger logger_;
  MetricsRegistry& metrics_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool in_flight_ = false;
  bool stop_ = false;
  int64_t last_attempt_us_ = 0;
  int64_t next_due_us_ = 0;
  size_t key_count_ = 0;
  int64_t last_success_s_ = 0;
  std::thread thread_;
};

}  // namespace assistantd::auth
