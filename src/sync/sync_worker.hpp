#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "storage/storage.hpp"
#include "sync/backoff.hpp"
#include "sync/circuit_breaker.hpp"
#include "sync/key_source.hpp"
#include "sync/notifier.hpp"
#include "vapi/vapi_client.hpp"

namespace assistantd::sync {

struct SyncSettings {
  int workers = 2;                         // threads in serve; 0 disables the loop
  int max_attempts = 8;                    // transient failures before the dead letter
  int64_t lease_us = 60'000'000;           // a claimed job returns to the queue after this
  int64_t idle_poll_us = 200'000;          // how often an idle worker looks for due jobs
  int64_t search_skew_us = 120'000'000;    // clock skew allowed when searching a lost create
  int64_t create_timeout_us = 30'000'000;  // the Vapi client's total timeout per call
  BackoffSettings backoff;
  int breaker_threshold = 5;             // consecutive transient failures that open it
  int64_t breaker_open_us = 10'000'000;  // how long it stays open before a probe
  std::string instance_id;               // tagged on remote copies (SyncStore::InstanceId)
};

// Runs outbox jobs: brings Vapi in line with each assistant's current local state (create,
// update or delete), retries transient failures with backoff, dead-letters permanent ones and
// exhausted jobs, and never sends a second create when the first one's outcome is unknown:
// it searches Vapi for the assistant's id in metadata first.
class SyncWorker final : public SyncNotifier {
 public:
  SyncWorker(storage::SyncStore& store, vapi::VapiClient& vapi, KeySource& keys, const Clock& clock,
             SyncSettings settings, Logger logger, MetricsRegistry& metrics);
  ~SyncWorker() override;

  // Claims and runs one due job. Returns false when no job was due.
  bool RunOnce();

  // Starts settings.workers threads looping over RunOnce; Stop() lets the jobs in hand finish.
  void Start();
  void Stop();
  // Wakes idle workers (after a write queued a job).
  void Notify() override;
  void OnOutcome(std::function<void()> listener) override;

  CircuitBreaker::State BreakerState() { return breaker_.state(); }

 private:
  storage::SyncOutcome Process(const storage::SyncJob& job);
  storage::SyncOutcome Fail(const storage::SyncJob& job, const vapi::VapiFailure& failure,
                            storage::SyncOutcome outcome);
  // Looks for remote copies carrying our id (after a create of unknown outcome).
  vapi::VapiResult FindRemote(const std::string& key, const storage::SyncJob& job);
  double Draw();

  storage::SyncStore& store_;
  vapi::VapiClient& vapi_;
  KeySource& keys_;
  const Clock& clock_;
  SyncSettings settings_;
  Logger logger_;
  MetricsRegistry& metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::mutex outcome_mu_;
  std::function<void()> outcome_listener_;
  CircuitBreaker breaker_;
};

}  // namespace assistantd::sync
