// The audit chain checked inside `serve` every --audit-verify-interval (VerifyChain, as
// `assistantd audit verify` does), so tampering raises an alert instead of waiting for an
// operator to look. Metrics: assistantd_audit_verify_runs_total{outcome="ok"|"broken"|"error"},
// assistantd_audit_chain_ok (1 intact, 0 broken; NaN until the first check),
// assistantd_audit_verify_last_timestamp_seconds.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/periodic_task.hpp"
#include "storage/storage.hpp"

namespace assistantd::audit {

class ChainWatch {
 public:
  ChainWatch(storage::AuditStore& store, const Clock& clock, Logger logger,
             MetricsRegistry& metrics);
  ~ChainWatch() { Stop(); }
  ChainWatch(const ChainWatch&) = delete;
  ChainWatch& operator=(const ChainWatch&) = delete;

  // The first check one interval after the start, then every interval; 0: never.
  void Start(int64_t interval_seconds);
  void Stop() { task_.Stop(); }
  // One check now; true when the chain is intact.
  bool CheckOnce();

 private:
  storage::AuditStore& store_;
  const Clock& clock_;
  Logger logger_;
  MetricCounter& ok_;
  MetricCounter& broken_;
  MetricCounter& failed_;
  std::atomic<int> state_{-1};  // -1 unknown, 0 broken, 1 intact
  std::atomic<int64_t> last_us_{0};
  int64_t interval_us_ = 0;
  PeriodicTask task_{"ad-audit-check", [this] {
                       CheckOnce();
                       return interval_us_;
                     }};
};

}  // namespace assistantd::audit
