#pragma once

namespace assistantd::sync {

// Told after a write queued sync work, so idle workers start at once instead of at their next
// poll. Implemented by SyncWorker; a no-op when sync is disabled.
class SyncNotifier {
 public:
  virtual ~SyncNotifier() = default;
  virtual void Notify() = 0;
};

}  // namespace assistantd::sync
