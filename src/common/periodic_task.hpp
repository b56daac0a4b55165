// A job run again and again on a named thread of its own, each run choosing the delay before
// the next (scheduled backups, audit chain checks). Stop() wakes the wait, lets a run under
// way finish and joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace assistantd {

class PeriodicTask {
 public:
  // `run` returns the microseconds to wait before it runs again.
  PeriodicTask(std::string thread_name, std::function<int64_t()> run)
      : thread_name_(std::move(thread_name)), run_(std::move(run)) {}
  ~PeriodicTask() { Stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // The first run comes after `first_delay_us` (0: now). Once only.
  void Start(int64_t first_delay_us);
  void Stop();

 private:
  std::string thread_name_;
  std::function<int64_t()> run_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace assistantd
