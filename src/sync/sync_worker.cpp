#include "sync/sync_worker.hpp"

#include <chrono>

#include "common/json_util.hpp"
#include "common/thread_name.hpp"
#include "common/time_format.hpp"
#include "domain/assistant_fields.hpp"
#include "vapi/vapi_list.hpp"

namespace assistantd::sync {
namespace {

using storage::SyncAttempt;
using storage::SyncJob;
using storage::SyncOutcome;
using Kind = storage::SyncOutcome::Kind;

constexpr int kMaxSearchPages = 50;
// Vapi's largest page: a search is usually one call, so a flaky Vapi rarely fails it midway.
constexpr int kSearchPageSize = 1000;

}  // namespace

SyncWorker::SyncWorker(storage::SyncStore& store, vapi::VapiClient& vapi, KeySource& keys,
                       const Clock& clock, SyncSettings settings, Logger logger,
                       MetricsRegistry& metrics)
    : store_(store),
      vapi_(vapi),
      keys_(keys),
      clock_(clock),
      settings_(settings),
      logger_(std::move(logger)),
      metrics_(metrics),
      breaker_(settings_.breaker_threshold, settings_.breaker_open_us, clock) {
  metrics_.DeclareCounter("assistantd_sync_jobs_total", "Sync job runs by outcome");
  metrics_.DeclareCounter("assistantd_vapi_calls_total", "Calls to Vapi by operation and result");
  metrics_.DeclareCounter("assistantd_vapi_rejected_fields_total",
                          "Assistant fields Vapi's validation refused (400), by top-level field "
                          "and kind (unknown property or invalid value)");
  metrics_.DeclareHistogram("assistantd_vapi_request_duration_seconds",
                            "Vapi call latency by operation", LatencyBuckets());
  metrics_.DeclareGauge("assistantd_sync_circuit_state",
                        "Vapi circuit breaker: 0 closed, 1 half-open, 2 open",
                        [this] { return static_cast<double>(breaker_.state()); });
}

SyncWorker::~SyncWorker() { Stop(); }

double SyncWorker::Draw() {
  std::lock_guard lock(mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_);
}

bool SyncWorker::RunOnce() {
  // While Vapi is down, leave jobs queued instead of failing them one by one.
  if (!breaker_.Allow()) return false;
  auto claimed = store_.ClaimDue(clock_.NowMicros(), settings_.lease_us);
  if (!claimed || !*claimed) breaker_.ReleaseProbe();  // no call was made
  if (!claimed) {
    LogEvent(logger_, spdlog::level::warn, "cannot claim sync jobs",
             {{"error", claimed.error().internal}});
    return false;
  }
  std::optional<SyncJob> job = std::move(*claimed);
  if (!job) return false;
  // While jobs are due, each outcome is recorded in the same transaction that claims the next.
  while (job) {
    const SyncOutcome outcome = Process(*job);
    bool transient = false;
    for (const auto& a : outcome.attempts) {
      transient = transient || (a.outcome != "ok" && (!a.status || *a.status >= 500 ||
                                                      *a.status == 429 || *a.status == 408));
    }
    if (transient) {
      breaker_.OnFailure();
    } else {
      breaker_.OnSuccess();
    }
    static constexpr const char* kNames[] = {"synced", "deleted", "retry", "dead"};
    const char* name = kNames[static_cast<int>(outcome.kind)];
    metrics_.Counter("assistantd_sync_jobs_total", {{"outcome", name}}).Inc();
    const bool chain = !stopping_ && breaker_.Allow();
    auto next = store_.Finish(*job, outcome, clock_.NowMicros(),
                              chain ? std::optional<int64_t>(settings_.lease_us) : std::nullopt);
    if (chain && (!next || !*next)) breaker_.ReleaseProbe();
    if (!next && next.error().reason == "lease_lost") {
      // Too slow: another worker holds the job now and its outcome is the one that counts.
      LogEvent(logger_, spdlog::level::warn, "sync outcome dropped: the job's lease expired",
               {{"jobId", job->id}});
    } else if (!next) {
      // The lease expires and the job runs again: its effects are idempotent by design.
      LogEvent(logger_, spdlog::level::err, "cannot record sync outcome",
               {{"jobId", job->id}, {"error", next.error().internal}});
    }
    {
      std::lock_guard lock(outcome_mu_);
      if (outcome_listener_) outcome_listener_();
    }
    LogEvent(logger_, outcome.kind == Kind::kDead ? spdlog::level::warn : spdlog::level::info,
             "sync job finished",
             {{"jobId", job->id},
              {"assistantId", job->assistant_id},
              {"outcome", name},
              {"attempt", job->attempts + 1},
              {"error", outcome.error}});
    job = next ? std::move(*next) : std::nullopt;
  }
  return true;
}

SyncOutcome SyncWorker::Fail(const SyncJob& job, const vapi::VapiFailure& failure,
                             SyncOutcome out) {
  out.error = failure.reason;
  if (failure.kind == vapi::FailureKind::kPermanent) {
    out.kind = Kind::kDead;
  } else if (job.attempts + 1 >= settings_.max_attempts) {
    out.kind = Kind::kDead;
    out.error =
        "gave up after " + std::to_string(job.attempts + 1) + " attempts: " + failure.reason;
  } else {
    out.kind = Kind::kRetry;
    out.next_attempt_at_us =
        clock_.NowMicros() +
        BackoffDelayUs(settings_.backoff, job.attempts, Draw(), failure.retry_after_seconds);
  }
  if (!out.attempts.empty()) {
    out.attempts.back().outcome = out.kind == Kind::kDead ? "dead" : "retry";
  }
  return out;
}

vapi::VapiResult SyncWorker::FindRemote(const std::string& key, const SyncJob& job) {
  vapi::ListParams params;
  params.limit = kSearchPageSize;
  // The lost create happened after it was sent and before its answer was due (plus clock
  // skew between us and Vapi on both sides).
  params.created_at_ge = FormatTimestamp(*job.create_sent_at_us - settings_.search_skew_us);
  params.created_at_le = FormatTimestamp(*job.create_sent_at_us + settings_.search_skew_us +
                                         settings_.create_timeout_us);
  std::vector<nlohmann::json> matches;
  auto listed = vapi::ForEachRemoteAssistant(
      vapi_, key, params, kMaxSearchPages, [&](const nlohmann::json& a) {
        if (domain::ReadRemoteTag(a).assistant_id == job.assistant_id) {
          matches.push_back(a);
        }
      });
  if (!listed) return tl::unexpected(listed.error());
  if (matches.empty()) return nlohmann::json(nullptr);
  // Keep the oldest copy; any other is a duplicate left by an earlier ambiguous create.
  std::sort(matches.begin(), matches.end(), [](const auto& x, const auto& y) {
    return StringOr(x, "createdAt") < StringOr(y, "createdAt");
  });
  for (size_t i = 1; i < matches.size(); ++i) {
    const auto r = vapi_.DeleteAssistant(key, matches[i]["id"].get<std::string>());
    LogEvent(
        logger_, spdlog::level::warn, "deleted a duplicate remote assistant",
        {{"assistantId", job.assistant_id}, {"vapiId", matches[i]["id"]}, {"ok", r.has_value()}});
  }
  return matches.front();
}

SyncOutcome SyncWorker::Process(const SyncJob& job) {
  SyncOutcome out;
  out.create_sent_at_us = job.create_sent_at_us;
  int64_t started = clock_.NowMicros();
  const auto record = [&](const char* op, const char* outcome, std::optional<int> status,
                          std::optional<std::string> error) {
    const int64_t now = clock_.NowMicros();
    out.attempts.push_back(SyncAttempt{op, outcome, status, std::move(error), started, now});
    metrics_.Counter("assistantd_vapi_calls_total", {{"operation", op}, {"result", outcome}}).Inc();
    if (std::string_view(op) != "none") {
      metrics_.Histogram("assistantd_vapi_request_duration_seconds", {{"operation", op}})
          .Observe(static_cast<double>(now - started) / 1e6);
    }
    started = now;
  };
  const auto fail = [&](const char* op, const vapi::VapiFailure& f) {
    record(op, "retry", f.status ? std::optional<int>(f.status) : std::nullopt, f.reason);
    for (const auto& r : f.rejected) {
      metrics_
          .Counter("assistantd_vapi_rejected_fields_total", {{"field", r.field}, {"kind", r.kind}})
          .Inc();
    }
    return Fail(job, f, std::move(out));
  };

  const auto loaded = store_.LoadForSync(job.assistant_id);
  if (!loaded) {
    out.kind = Kind::kRetry;
    out.count_attempt = false;
    out.error = "Local database unavailable";
    out.next_attempt_at_us = clock_.NowMicros() + settings_.backoff.base_us;
    return out;
  }
  const auto& a = *loaded;
  const bool gone = !a || a->sync_status == domain::SyncStatus::kDeleting;
  std::optional<std::string> vapi_id = a && a->vapi_id ? a->vapi_id : job.vapi_id;
  if (gone && !vapi_id && !job.create_sent_at_us) {
    // Never reached Vapi (no create was ever sent): nothing to delete, no key needed.
    record("none", "ok", std::nullopt, "never reached Vapi: nothing to delete remotely");
    out.kind = Kind::kDeleted;
    return out;
  }

  const auto key = keys_.KeyFor(job);
  if (!key) {
    // Nothing was tried, so this never dead-letters: the job waits for a key.
    out.kind = Kind::kRetry;
    out.count_attempt = false;
    out.error = "No Vapi API key is configured";
    out.next_attempt_at_us = clock_.NowMicros() + settings_.backoff.cap_us / 4;
    return out;
  }
  if (!vapi_id && job.create_sent_at_us) {
    // An earlier create may have landed even though we never heard back.
    auto found = FindRemote(*key, job);
    if (!found) return fail("search", found.error());
    if (!found->is_null()) {
      // The create is known to have landed, but the id is recorded only with a successful
      // outcome: keep create_sent_at until then, so that if the update below fails the next
      // attempt searches again instead of creating a second copy.
      vapi_id = (*found)["id"].get<std::string>();
      record("search", "ok", 200, "found the remote copy of an earlier create");
    } else {
      record("search", "ok", 200, std::nullopt);
      out.create_sent_at_us.reset();
    }
  }

  if (gone) {
    if (vapi_id) {
      auto r = vapi_.DeleteAssistant(*key, *vapi_id);
      if (!r && r.error().status != 404) return fail("delete", r.error());
      record("delete", "ok", r ? 200 : 404, std::nullopt);
    } else {
      record("none", "ok", std::nullopt, "never reached Vapi: nothing to delete remotely");
    }
    out.kind = Kind::kDeleted;
    return out;
  }

  const auto payload = domain::VapiPayload(a->fields, {a->id, settings_.instance_id});
  if (vapi_id) {
    auto r = vapi_.UpdateAssistant(*key, *vapi_id, payload);
    if (r) {
      record("update", "ok", 200, std::nullopt);
      // Vapi's update keeps keys it is not sent: fields we no longer hold but the copy still
      // does (cleared here, or set behind our back) are cleared by a second update.
      if (const auto stale = domain::RemoteOnlyFields(payload, *r); !stale.empty()) {
        auto cleared = vapi_.UpdateAssistant(*key, *vapi_id, domain::VapiClearPayload(stale));
        if (!cleared) return fail("update", cleared.error());
        std::string names;
        for (const auto& n : stale) names += (names.empty() ? "" : ", ") + n;
        record("update", "ok", 200, "cleared on Vapi: " + names);
      }
      out.kind = Kind::kSynced;
      out.vapi_id = vapi_id;
      out.synced_version = a->version;
      return out;
    }
    if (r.error().status != 404) return fail("update", r.error());
    // Deleted in Vapi behind our back: create it again.
    record("update", "retry", 404, "remote copy missing; creating it again");
  }

  const int64_t sent_at = clock_.NowMicros();
  // A job claimed without a remote id had its create intent recorded by the claim; one that
  // expected to update records it now.
  if (auto m = job.vapi_id ? store_.MarkCreateSent(job.id, sent_at) : Result<void>{}; !m) {
    out.kind = Kind::kRetry;
    out.count_attempt = false;
    out.error = "Local database unavailable";
    out.next_attempt_at_us = clock_.NowMicros() + settings_.backoff.base_us;
    return out;
  }
  auto r = vapi_.CreateAssistant(*key, payload);
  if (r && r->is_object() && r->contains("id") && (*r)["id"].is_string()) {
    record("create", "ok", 201, std::nullopt);
    out.kind = Kind::kSynced;
    out.vapi_id = (*r)["id"].get<std::string>();
    out.synced_version = a->version;
    return out;
  }
  const vapi::VapiFailure failure = r ? vapi::VapiFailure{vapi::FailureKind::kTransient,
                                                          201,
                                                          "Vapi create answer has no id",
                                                          {},
                                                          true}
                                      : r.error();
  if (failure.outcome_unknown) out.create_sent_at_us = sent_at;
  return fail("create", failure);
}

void SyncWorker::Start() {
  stopping_ = false;
  for (int i = 0; i < settings_.workers; ++i) {
    threads_.emplace_back([this] {
      NameThisThread("ad-sync");
      while (!stopping_) {
        if (RunOnce()) continue;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::microseconds(settings_.idle_poll_us),
                     [this] { return stopping_.load(); });
      }
    });
  }
}

void SyncWorker::Stop() {
  stopping_ = true;
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void SyncWorker::Notify() { cv_.notify_all(); }

void SyncWorker::OnOutcome(std::function<void()> listener) {
  std::lock_guard lock(outcome_mu_);
  outcome_listener_ = std::move(listener);
}

}  // namespace assistantd::sync
