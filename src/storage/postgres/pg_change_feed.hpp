#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

// The change feed of a PostgreSQL database shared by several instances. Migration 0007's
// triggers NOTIFY the ids of the assistant rows each statement changed (any writer: an
// instance, a command, psql), inside the writing transaction, so the notice exists exactly
// when the change committed. One connection per process LISTENs and hands them to the sink.
//
// AwaitCurrent is a read barrier: the listener NOTIFYs itself and waits for that notice to
// come back. PostgreSQL delivers notices in commit order, so once its own is back, every change
// committed before it was sent (every write acknowledged before the read began) has reached
// the sink. One round answers every read that arrived before it started, so the barrier costs
// one round trip per batch of reads, not per read.
//
// While the connection is down (or a round takes longer than kRoundTimeout) reads are told
// "not current" and go to the database; on every (re)connect the sink hears ChangedAll
// before the feed says "current" again, since notices may have been missed meanwhile.
class PgChangeFeed final : public AssistantChangeFeed {
 public:
  static constexpr const char* kChannel = "assistantd_assistants";

  PgChangeFeed(std::string url, Logger logger);
  ~PgChangeFeed() override;

  Result<void> Start(AssistantChangeSink& sink) override;
  void AwaitCurrent(std::function<void(bool current)> ready) override;

 private:
  using Waiters = std::vector<std::function<void(bool)>>;
  void Run();
  bool Connect();
  void Disconnect(const std::string& why);
  // Reads what the server sent; false if the connection broke.
  bool Receive();
  void Deliver(const char* payload);
  void Wake();
  static void Answer(Waiters& waiters, bool current);

  std::string url_;
  Logger logger_;
  std::string token_;  // this process's barrier payloads start with it
  AssistantChangeSink* sink_ = nullptr;
  PGconn* conn_ = nullptr;  // the listener thread's
  int wake_fd_ = -1;

  std::mutex mu_;
  bool current_ = false;  // connected and listening
  bool stopping_ = false;
  Waiters waiting_;     // for the next round
  Waiters in_round_;    // answered by the round in flight
  uint64_t round_ = 0;  // the round in flight (or last one)
  bool round_open_ = false;
  bool round_seen_ = false;  // its notice came back
  bool query_done_ = true;   // its NOTIFY's results are read
  std::thread thread_;
};

}  // namespace assistantd::storage
