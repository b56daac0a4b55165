#include "common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/sink.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace assistantd {
namespace {

constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};

// Writes log lines to a file descriptor from a thread of its own, so no request thread waits
// for the write(2) or for another thread's. Lines are formatted by the caller and appended to
// a buffer that the writer empties with one write per batch. Bounded: past kMaxPending bytes
// a caller waits for the writer (back-pressure, never an unbounded queue, no lost line). A
// line at warn or above, and flush(), return only once everything before them is written, so
// an error logged right before the process exits is never lost. Info lines wait up to
// kBatchDelay to share a write: waking the writer for every line cost a context switch per
// request.
class BackgroundFdSink final : public spdlog::sinks::sink {
 public:
  static constexpr size_t kMaxPending = 4 << 20;
  static constexpr size_t kBatchBytes = 64 << 10;  // written at once when this much is pending
  static constexpr auto kBatchDelay = std::chrono::milliseconds(2);

  explicit BackgroundFdSink(int fd) : fd_(fd), writer_([this] { Run(); }) {}
  ~BackgroundFdSink() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_writer_.notify_one();
    writer_.join();
  }

  void log(const spdlog::details::log_msg& msg) override {
    std::unique_lock lock(mu_);
    drained_.wait(lock, [&] { return pending_.size() < kMaxPending; });
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    const bool first = pending_.empty();
    pending_.append(line.data(), line.size());
    appended_ += line.size();
    const bool urgent = msg.level >= spdlog::level::warn;
    // The first line starts the writer's batch window; a full batch or an urgent line ends it.
    if (first || urgent || pending_.size() >= kBatchBytes) {
      urgent_ = urgent_ || urgent;
      wake_writer_.notify_one();
    }
    if (urgent) WaitWritten(lock);
  }
  void flush() override {
    std::unique_lock lock(mu_);
    WaitWritten(lock);
  }
  void set_pattern(const std::string& pattern) override {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
  }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    std::lock_guard lock(mu_);
    formatter_ = std::move(formatter);
  }

 private:
  void WaitWritten(std::unique_lock<std::mutex>& lock) {
    const size_t target = appended_;
    if (written_ < target && !urgent_) {
      urgent_ = true;
      wake_writer_.notify_one();
    }
    drained_.wait(lock, [&] { return written_ >= target; });
  }

  void Run() {
    std::string batch;
    std::unique_lock lock(mu_);
    while (true) {
      wake_writer_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything is written
      wake_writer_.wait_for(lock, kBatchDelay,
                            [&] { return stopping_ || urgent_ || pending_.size() >= kBatchBytes; });
      urgent_ = false;
      batch.swap(pending_);
      lock.unlock();
      WriteAll(batch);
      lock.lock();
      written_ += batch.size();
      batch.clear();
      drained_.notify_all();
    }
  }

  void WriteAll(std::string_view bytes) const {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // nowhere to log to: drop the batch rather than spin
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  const int fd_;
  std::mutex mu_;
  std::condition_variable wake_writer_;
  std::condition_variable drained_;
  std::unique_ptr<spdlog::formatter> formatter_ = std::make_unique<spdlog::pattern_formatter>();
  std::string pending_;
  bool urgent_ = false;  // someone waits for the pending lines to be written
  size_t appended_ = 0;  // bytes ever appended, and written: a flush waits for the first
  size_t written_ = 0;
  bool stopping_ = false;
  std::thread writer_;  // last: starts once everything above is set up
};

// The level as --log-level names it (spdlog's own %l says "warning" for warn).
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const auto name = kLevels[static_cast<size_t>(msg.level)];
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

}  // namespace

bool IsValidLogLevel(std::string_view level) {
  for (const auto l : kLevels) {
    if (l == level) return true;
  }
  return false;
}

LogFactory::LogFactory(std::string_view level, int fd)
    : sink_(std::make_shared<BackgroundFdSink>(fd)),
      level_(spdlog::level::from_str(std::string(level))) {
  // %v is the rest of a JSON object produced by LogEvent (starting with "msg").
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<LevelFlag>('L');
  formatter->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%L","logger":"%n",%v})");
  sink_->set_formatter(std::move(formatter));
}

void LogFactory::Flush() const { sink_->flush(); }

Logger LogFactory::Make(const std::string& name) const {
  auto logger = std::make_shared<spdlog::logger>(name, sink_);
  logger->set_level(level_);
  // Lines below warn are written by the sink's thread as they come; warn and above wait
  // until written (the sink does it), so there is nothing to flush per line.
  logger->flush_on(spdlog::level::off);
  return logger;
}

void LogEvent(const Logger& logger, spdlog::level::level_enum level, std::string_view msg,
              const nlohmann::json& fields) {
  if (!logger || !logger->should_log(level)) return;
  // The members without the outer braces (the pattern supplies them around the fixed fields),
  // written one by one rather than through a copied object: this runs for every request.
  const auto dump = [](const nlohmann::json& v) {
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::string text = "\"msg\":" + dump(nlohmann::json(msg));
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.items()) {
      if (k == "msg") continue;
      text += ',';
      text += dump(nlohmann::json(k));
      text += ':';
      text += dump(v);
    }
  }
  logger->log(level, std::string_view(text));
}

}  // namespace assistantd
