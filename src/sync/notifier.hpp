#pragma once

#include <functional>

namespace assistantd::sync {

// The link between request handlers and the sync workers. Implemented by SyncWorker.
class SyncNotifier {
 public:
  virtual ~SyncNotifier() = default;
  // Told after a write queued sync work, so idle workers start at once instead of at their
  // next poll.
  virtual void Notify() = 0;

  // For `Prefer: wait=N`: `listener` is called (from a worker's thread, so it must be short)
  // after each job outcome is recorded; an empty function removes it.
  virtual void OnOutcome(std::function<void()> listener) = 0;
};

}  // namespace assistantd::sync
