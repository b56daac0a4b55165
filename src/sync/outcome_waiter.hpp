#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.hpp"
#include "storage/storage.hpp"
#include "sync/notifier.hpp"

namespace assistantd::sync {

struct WaiterSettings {
  int max_waits = 64;                   // in flight at once, over all callers
  int max_waits_per_user = 4;           // in flight at once for one caller
  std::chrono::milliseconds poll{100};  // also notices outcomes other processes record
};

// `Prefer: wait=N` without a thread per waiting request: one thread watches every open wait
// and calls each one's completion once its assistant's latest sync job has an outcome (or the
// deadline passes). Waits are bounded per caller and in total; a request over the bounds is
// answered at once (RFC 7240 lets a server ignore a preference).
class OutcomeWaiter {
 public:
  // The job as it stands when the wait ended; nullopt if there is none or it could not be read.
  using Done = std::function<void(std::optional<storage::SyncJob>)>;

  OutcomeWaiter(storage::SyncStore& store, SyncNotifier& notifier, WaiterSettings settings,
                MetricsRegistry& metrics);
  ~OutcomeWaiter();
  OutcomeWaiter(const OutcomeWaiter&) = delete;
  OutcomeWaiter& operator=(const OutcomeWaiter&) = delete;

  // Registers a wait for `assistant_id` on behalf of `caller` until `deadline`; `done` runs
  // once, on the waiter's thread (keep it short: hand real work on). False, and `done` never
  // runs, when the caller or the server has as many waits open as allowed.
  bool Wait(const std::string& caller, const std::string& assistant_id,
            std::chrono::steady_clock::time_point deadline, Done done);

  // Ends every open wait now (each gets the job as it stands) and stops the thread.
  void Stop();

 private:
  struct Pending {
    std::string caller;
    std::string assistant_id;
    std::chrono::steady_clock::time_point deadline;
    Done done;
  };
  void Run();
  // The waits that are over (outcome recorded, deadline passed, or `all`), removed from the
  // open set, with the job each ends with.
  std::vector<std::pair<Pending, std::optional<storage::SyncJob>>> TakeFinished(bool all);

  storage::SyncStore& store_;
  SyncNotifier& notifier_;
  WaiterSettings settings_;
  MetricsRegistry& metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = false;
  bool stopping_ = false;
  uint64_t next_id_ = 0;
  std::map<uint64_t, Pending> open_;
  std::map<std::string, int> per_caller_;
  std::thread thread_;
};

}  // namespace assistantd::sync
