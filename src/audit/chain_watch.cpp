#include "audit/chain_watch.hpp"

#include <cmath>

#include "audit/audit_log.hpp"

namespace assistantd::audit {

ChainWatch::ChainWatch(storage::AuditStore& store, const Clock& clock, Logger logger,
                       MetricsRegistry& metrics)
    : store_(store),
      clock_(clock),
      logger_(std::move(logger)),
      ok_((metrics.DeclareCounter("assistantd_audit_verify_runs_total",
                                  "Checks of the audit chain inside serve, by outcome"),
           metrics.Counter("assistantd_audit_verify_runs_total", {{"outcome", "ok"}}))),
      broken_(metrics.Counter("assistantd_audit_verify_runs_total", {{"outcome", "broken"}})),
      failed_(metrics.Counter("assistantd_audit_verify_runs_total", {{"outcome", "error"}})) {
  metrics.DeclareGauge("assistantd_audit_chain_ok",
                       "1 when the last check found the audit chain intact, 0 when broken", [this] {
                         const int s = state_.load();
                         return s < 0 ? std::nan("") : static_cast<double>(s);
                       });
  metrics.DeclareGauge("assistantd_audit_verify_last_timestamp_seconds",
                       "When the audit chain was last checked (Unix time; 0: never)",
                       [this] { return static_cast<double>(last_us_.load()) / 1e6; });
}

void ChainWatch::Start(int64_t interval_seconds) {
  if (interval_seconds <= 0) return;
  interval_us_ = interval_seconds * 1'000'000;
  task_.Start(interval_us_);
}

bool ChainWatch::CheckOnce() {
  auto report = VerifyChain(store_);
  if (!report) {
    failed_.Inc();
    LogEvent(logger_, spdlog::level::err, "audit chain check failed",
             {{"error", report.error().message}, {"detail", report.error().internal}});
    return false;
  }
  last_us_ = clock_.NowMicros();
  state_ = report->ok ? 1 : 0;
  if (report->ok) {
    ok_.Inc();
    LogEvent(logger_, spdlog::level::info, "audit chain intact",
             {{"entries", report->entries}, {"headHash", report->head_hash}});
  } else {
    broken_.Inc();
    LogEvent(logger_, spdlog::level::err, "audit chain broken",
             {{"entries", report->entries},
              {"firstBadSeq", report->first_bad_seq},
              {"problem", report->problem}});
  }
  return report->ok;
}

}  // namespace assistantd::audit
