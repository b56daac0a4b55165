#pragma once

#include <chrono>
#include <cstdint>

namespace assistantd::sync {

// The link between request handlers and the sync workers. Implemented by SyncWorker.
class SyncNotifier {
 public:
  virtual ~SyncNotifier() = default;
  // Told after a write queued sync work, so idle workers start at once instead of at their
  // next poll.
  virtual void Notify() = 0;

  // For `Prefer: wait=N`: a counter that moves each time a job outcome is recorded. Read it,
  // look at the job, then wait for it to move past the value read (no outcome is missed).
  virtual uint64_t OutcomeGeneration() = 0;
  virtual void WaitForOutcome(uint64_t seen, std::chrono::microseconds timeout) = 0;
};

}  // namespace assistantd::sync
