#include "common/periodic_task.hpp"

#include <algorithm>

#include "common/thread_name.hpp"

namespace assistantd {

void PeriodicTask::Start(int64_t first_delay_us) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, delay = first_delay_us]() mutable {
    NameThisThread(thread_name_.c_str());
    std::unique_lock lock(mu_);
    for (;;) {
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::microseconds(std::max<int64_t>(0, delay));
      if (cv_.wait_until(lock, until, [this] { return stopping_; })) return;
      lock.unlock();
      delay = run_();
      lock.lock();
    }
  });
}

void PeriodicTask::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace assistantd
