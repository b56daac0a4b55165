#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace assistantd::storage {

// Group commit for writes submitted from many threads: one thread runs whatever has queued
// up as one transaction, each unit inside its own savepoint, and makes it durable with one
// commit (one WAL flush) before it completes the units that succeeded. While that commit
// waits for the disk, the next writers queue, so the batch grows with the load and nobody
// parks a thread on a lock. A unit that fails is rolled back to its savepoint and completed
// with its error at once; the rest of its batch is unaffected. If the backend aborts the
// whole transaction (a full disk, a lost connection), every unit of the batch that had
// succeeded is completed with that error: nothing is acknowledged that did not commit.
//
// The backend supplies, for its connection type `Conn`: how to borrow a connection for one
// batch, and how to begin, commit, roll back and inspect a transaction on it.
template <class Conn>
class WriteBatcher {
 public:
  using Work = std::function<Result<void>(Conn&)>;
  using Done = std::function<void(Result<void>)>;

  struct Backend {
    // Calls its argument with a connection for one batch.
    std::function<void(const std::function<void(Conn&)>&)> with_connection;
    std::function<Result<void>(Conn&)> begin;
    std::function<Result<void>(Conn&)> commit;  // returns once the batch is durable
    std::function<void(Conn&)> rollback;
    // Runs one of SAVEPOINT / ROLLBACK TO / RELEASE (the same words on every backend).
    std::function<Result<void>(Conn&, const char* sql)> exec;
    // False when the backend has ended the transaction by itself after an error.
    std::function<bool(Conn&)> in_transaction;
  };

  // `threads` batches may run at once (on backends whose transactions can overlap, as
  // PostgreSQL's, whose own group commit then merges their flushes).
  explicit WriteBatcher(Backend backend, int threads = 1, size_t max_batch = 256)
      : backend_(std::move(backend)), max_batch_(max_batch) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Loop(); });
  }
  WriteBatcher(const WriteBatcher&) = delete;
  WriteBatcher& operator=(const WriteBatcher&) = delete;
  ~WriteBatcher() { Stop(); }

  // Queues `work`; `done` runs on the batcher's thread with the unit's error, or with success
  // once its batch committed. Keep `done` short: hand heavier work to another thread.
  void Submit(Work work, Done done) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back({std::move(work), std::move(done)});
        cv_.notify_one();
        return;
      }
    }
    done(Fail(ErrorCode::kUnavailable, "shutting_down", "The server is shutting down"));
  }

  // Submit for a unit that produces a value: `done` gets the value once the batch committed.
  template <class T>
  void SubmitValue(std::function<Result<T>(Conn&)> work, std::function<void(Result<T>)> done) {
    auto slot = std::make_shared<std::optional<T>>();
    Submit(
        [work = std::move(work), slot](Conn& conn) -> Result<void> {
          auto r = work(conn);
          if (!r) return tl::unexpected(r.error());
          slot->emplace(std::move(*r));
          return {};
        },
        [slot, done = std::move(done)](Result<void> r) {
          if (!r) return done(tl::unexpected(r.error()));
          done(std::move(**slot));
        });
  }

  // Runs `work` as a unit and waits for its outcome (for callers with a thread to spare:
  // commands, tests, import).
  Result<void> Run(Work work) {
    auto promise = std::make_shared<std::promise<Result<void>>>();
    auto future = promise->get_future();
    Submit(std::move(work), [promise](Result<void> r) { promise->set_value(std::move(r)); });
    return future.get();
  }

  // Finishes what is queued, then stops the thread. Later submissions fail at once.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
  }

 private:
  struct Unit {
    Work work;
    Done done;
  };

  void Loop() {
    for (;;) {
      std::deque<Unit> batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        const size_t n = std::min(max_batch_, queue_.size());
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      backend_.with_connection([&](Conn& conn) {
        while (!batch.empty()) RunBatch(conn, batch);
      });
    }
  }

  // Runs units from the front of `pending` in one transaction; units left over (the
  // transaction was aborted under them) stay queued for the next one.
  void RunBatch(Conn& conn, std::deque<Unit>& pending) {
    if (auto r = backend_.begin(conn); !r) {
      for (auto& u : pending) u.done(r);
      pending.clear();
      return;
    }
    std::vector<Done> succeeded;
    while (!pending.empty()) {
      Unit unit = std::move(pending.front());
      pending.pop_front();
      auto [r, broken] = RunUnit(conn, unit.work);
      if (broken) {
        backend_.rollback(conn);
        const Result<void> lost = r ? Fail(ErrorCode::kUnavailable, "storage_unavailable",
                                           "The database is unavailable; nothing was changed")
                                    : r;
        unit.done(r);
        for (auto& d : succeeded) d(lost);
        return;
      }
      if (r) {
        succeeded.push_back(std::move(unit.done));
      } else {
        unit.done(std::move(r));
      }
    }
    if (succeeded.empty()) {
      backend_.rollback(conn);
      return;
    }
    auto committed = backend_.commit(conn);
    if (!committed) backend_.rollback(conn);
    for (auto& d : succeeded) d(committed);
  }

  // The unit's outcome, and whether the batch's transaction is lost with it (the backend
  // aborted it, or the savepoint could not be released or undone).
  std::pair<Result<void>, bool> RunUnit(Conn& conn, const Work& work) {
    if (auto r = backend_.exec(conn, "SAVEPOINT unit"); !r) {
      return {r, !backend_.in_transaction(conn)};
    }
    Result<void> r;
    try {
      r = work(conn);
    } catch (const std::exception& e) {
      r = Internal(std::string("write unit threw: ") + e.what());
    }
    if (r) {
      auto released = backend_.exec(conn, "RELEASE unit");
      return {released, !released};
    }
    if (!backend_.in_transaction(conn)) return {r, true};
    if (auto back = backend_.exec(conn, "ROLLBACK TO unit"); !back) return {r, true};
    if (auto released = backend_.exec(conn, "RELEASE unit"); !released) return {r, true};
    return {r, false};
  }

  Backend backend_;
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Unit> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: they start after everything they use
};

}  // namespace assistantd::storage
