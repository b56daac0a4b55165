#include "sync/outcome_waiter.hpp"

#include <algorithm>

#include "common/thread_name.hpp"

namespace assistantd::sync {
namespace {

bool IsOpen(const storage::SyncJob& job) { return job.state == "queued" || job.state == "running"; }

// Outcomes can come in bursts (hundreds a second); sweeps are spaced by at least this much.
constexpr std::chrono::milliseconds kMinSweepInterval{5};

}  // namespace

OutcomeWaiter::OutcomeWaiter(storage::SyncStore& store, SyncNotifier& notifier,
                             WaiterSettings settings, MetricsRegistry& metrics)
    : store_(store), notifier_(notifier), settings_(settings), metrics_(metrics) {
  metrics_.DeclareGauge("assistantd_sync_waits",
                        "Requests waiting for a sync outcome (Prefer: wait)", [this] {
                          std::lock_guard lock(mu_);
                          return static_cast<double>(open_.size());
                        });
  metrics_.DeclareCounter("assistantd_sync_waits_refused_total",
                          "Prefer: wait requests answered at once: too many waits open");
  notifier_.OnOutcome([this] {
    {
      std::lock_guard lock(mu_);
      kicked_ = true;
    }
    cv_.notify_one();
  });
  thread_ = std::thread([this] { Run(); });
}

OutcomeWaiter::~OutcomeWaiter() { Stop(); }

bool OutcomeWaiter::Wait(const std::string& caller, const std::string& assistant_id,
                         std::chrono::steady_clock::time_point deadline, Done done) {
  {
    std::lock_guard lock(mu_);
    int& mine = per_caller_[caller];
    if (stopping_ || static_cast<int>(open_.size()) >= settings_.max_waits ||
        mine >= settings_.max_waits_per_user) {
      if (mine == 0) per_caller_.erase(caller);
      metrics_.Counter("assistantd_sync_waits_refused_total", {}).Inc();
      return false;
    }
    ++mine;
    open_.emplace(next_id_++, Pending{caller, assistant_id, deadline, std::move(done)});
    kicked_ = true;
  }
  cv_.notify_one();
  return true;
}

std::vector<std::pair<OutcomeWaiter::Pending, std::optional<storage::SyncJob>>>
OutcomeWaiter::TakeFinished(bool all) {
  std::vector<std::pair<uint64_t, std::string>> looked_at;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, p] : open_) looked_at.emplace_back(id, p.assistant_id);
  }
  // Read outside the lock: new waits are not held up by the database.
  std::vector<std::pair<uint64_t, std::optional<storage::SyncJob>>> jobs;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [id, assistant_id] : looked_at) {
    auto job = store_.LatestJob(assistant_id);
    std::optional<storage::SyncJob> current = job && *job ? std::optional(**job) : std::nullopt;
    jobs.emplace_back(id, std::move(current));
  }
  std::vector<std::pair<Pending, std::optional<storage::SyncJob>>> out;
  std::lock_guard lock(mu_);
  for (auto& [id, job] : jobs) {
    const auto it = open_.find(id);
    if (it == open_.end()) continue;
    if (!all && job && IsOpen(*job) && now < it->second.deadline) continue;
    if (--per_caller_[it->second.caller] == 0) per_caller_.erase(it->second.caller);
    out.emplace_back(std::move(it->second), std::move(job));
    open_.erase(it);
  }
  return out;
}

void OutcomeWaiter::Run() {
  NameThisThread("ad-sync-wait");
  for (;;) {
    {
      std::unique_lock lock(mu_);
      auto wake = std::chrono::steady_clock::now() + settings_.poll;
      for (const auto& [id, p] : open_) wake = std::min(wake, p.deadline);
      const auto ready = [&] { return stopping_ || kicked_; };
      if (open_.empty()) {
        cv_.wait(lock, ready);
      } else {
        cv_.wait_until(lock, wake, ready);
      }
      if (stopping_) return;
      kicked_ = false;
    }
    for (auto& [p, job] : TakeFinished(false)) p.done(std::move(job));
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kMinSweepInterval, [&] { return stopping_; });
  }
}

void OutcomeWaiter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  notifier_.OnOutcome(nullptr);
  for (auto& [p, job] : TakeFinished(true)) p.done(std::move(job));
}

}  // namespace assistantd::sync
