#include "storage/postgres/pg_change_feed.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string_view>

#include "common/encoding.hpp"
#include "common/thread_name.hpp"
#include "storage/postgres/pg_database.hpp"

namespace assistantd::storage {
namespace {

constexpr std::string_view kBarrierPrefix = "barrier:";
// A round not back by then means a connection that died without telling us.
constexpr auto kRoundTimeout = std::chrono::seconds(2);
constexpr int kIdlePollMs = 10'000;
constexpr int kMaxBackoffMs = 5'000;

}  // namespace

PgChangeFeed::PgChangeFeed(std::string url, Logger logger)
    : url_(std::move(url)),
      logger_(std::move(logger)),
      token_(std::string(kBarrierPrefix) + HexEncode(RandomBytes(8)) + ":") {}

PgChangeFeed::~PgChangeFeed() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Result<void> PgChangeFeed::Start(AssistantChangeSink& sink) {
  sink_ = &sink;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Internal("eventfd for the change feed failed");
  thread_ = std::thread([this] { Run(); });
  return {};
}

void PgChangeFeed::AwaitCurrent(std::function<void(bool current)> ready) {
  bool queued = false;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (current_ && !stopping_) {
      waiting_.push_back(std::move(ready));
      queued = true;
      wake = waiting_.size() == 1;
    }
  }
  if (!queued) return ready(false);  // the feed cannot vouch for anything now
  if (wake) Wake();
}

void PgChangeFeed::Wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void PgChangeFeed::Answer(Waiters& waiters, bool current) {
  Waiters now;
  now.swap(waiters);
  for (auto& ready : now) ready(current);
}

bool PgChangeFeed::Connect() {
  // TCP keepalives: a server that vanished without a word is noticed even while idle.
  const char* keys[] = {"dbname",
                        "keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "application_name",
                        nullptr};
  const char* values[] = {url_.c_str(), "1", "10", "5", "3", "assistantd-change-feed", nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  RouteNotices(conn_, &logger_);
  std::string why;
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    why = conn_ ? PQerrorMessage(conn_) : "out of memory";
  } else {
    PGresult* r = PQexec(conn_, (std::string("LISTEN ") + kChannel).c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) why = PQerrorMessage(conn_);
    PQclear(r);
  }
  if (why.empty()) return true;
  std::replace(why.begin(), why.end(), '\n', ' ');
  LogEvent(logger_, spdlog::level::warn, "change feed cannot listen; reads go to the database",
           {{"detail", why}});
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  return false;
}

void PgChangeFeed::Disconnect(const std::string& why) {
  LogEvent(logger_, spdlog::level::warn,
           "change feed lost its connection; reads go to the database", {{"detail", why}});
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  Waiters waiting;
  {
    std::lock_guard lock(mu_);
    current_ = false;
    waiting.swap(waiting_);
  }
  round_open_ = false;
  query_done_ = true;
  Answer(in_round_, false);
  Answer(waiting, false);
}

void PgChangeFeed::Deliver(const char* payload) {
  const std::string_view text(payload);
  if (text.starts_with(kBarrierPrefix)) {
    // Ours (another instance's rounds pass by too): the round in flight is back.
    if (round_open_ && text.starts_with(token_) &&
        text.substr(token_.size()) == std::to_string(round_)) {
      round_seen_ = true;
    }
    return;
  }
  if (text == "*") return sink_->ChangedAll();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) sink_->Changed(text.substr(start, end - start));
    start = end + 1;
  }
}

bool PgChangeFeed::Receive() {
  if (!PQconsumeInput(conn_)) return false;
  while (!query_done_ && !PQisBusy(conn_)) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      query_done_ = true;
      break;
    }
    const auto status = PQresultStatus(r);
    PQclear(r);
    if (status != PGRES_COMMAND_OK) return false;
  }
  while (PGnotify* n = PQnotifies(conn_)) {
    Deliver(n->extra);
    PQfreemem(n);
  }
  return PQstatus(conn_) == CONNECTION_OK;
}

void PgChangeFeed::Run() {
  NameThisThread("ad-change-feed");
  int backoff_ms = 100;
  std::chrono::steady_clock::time_point deadline;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (!conn_) {
      if (!Connect()) {
        pollfd wake{wake_fd_, POLLIN, 0};
        (void)::poll(&wake, 1, backoff_ms);
        uint64_t drained = 0;
        (void)!::read(wake_fd_, &drained, sizeof drained);
        backoff_ms = std::min(kMaxBackoffMs, backoff_ms * 2);
        continue;
      }
      backoff_ms = 100;
      // Whatever committed while nobody listened is unknown: start from nothing.
      sink_->ChangedAll();
      std::lock_guard lock(mu_);
      current_ = true;
    }
    if (!round_open_) {
      {
        std::lock_guard lock(mu_);
        in_round_.swap(waiting_);
      }
      if (!in_round_.empty()) {
        ++round_;
        const std::string sql =
            std::string("NOTIFY ") + kChannel + ", '" + token_ + std::to_string(round_) + "'";
        if (!PQsendQuery(conn_, sql.c_str())) {
          Disconnect(PQerrorMessage(conn_));
          continue;
        }
        round_open_ = true;
        round_seen_ = false;
        query_done_ = false;
        deadline = std::chrono::steady_clock::now() + kRoundTimeout;
      }
    }
    int timeout_ms = kIdlePollMs;
    if (round_open_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()) + 1);
    }
    pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, timeout_ms) < 0 && errno != EINTR) {
      Disconnect("poll failed");
      continue;
    }
    if (fds[1].revents & POLLIN) {
      uint64_t drained = 0;
      (void)!::read(wake_fd_, &drained, sizeof drained);
    }
    if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) && !Receive()) {
      Disconnect(conn_ ? PQerrorMessage(conn_) : "closed");
      continue;
    }
    if (round_open_ && round_seen_ && query_done_) {
      round_open_ = false;
      Answer(in_round_, true);
    } else if (round_open_ && std::chrono::steady_clock::now() >= deadline) {
      Disconnect("a read barrier did not come back in time");
    }
  }
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  Waiters waiting;
  {
    std::lock_guard lock(mu_);
    current_ = false;
    waiting.swap(waiting_);
  }
  Answer(in_round_, false);
  Answer(waiting, false);
}

}  // namespace assistantd::storage
