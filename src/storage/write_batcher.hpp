#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
#include "common/thread_name.hpp"

namespace assistantd::storage {

// Group commit for writes submitted from many threads: one thread runs whatever has queued
// up as one transaction and makes it durable with one commit (one WAL flush) before it
// completes the units that succeeded. While that commit waits for the disk, the next writers
// queue, so the batch grows with the load and nobody parks a thread on a lock.
//
// A unit that fails is completed with its error at once and the rest of its batch is
// unaffected. How its changes are undone depends on the backend:
//   - with savepoints (no `changes` counter): each unit runs inside its own savepoint and a
//     failing one is rolled back to it;
//   - with a `changes` counter: units run without savepoints (on SQLite a savepoint per unit
//     costs more than the unit: it also flushes the full-text index each time). A unit that
//     fails having changed nothing needs no undoing; one that fails after changing rows makes
//     the batch roll back, and the units before it run again in a new transaction (they were
//     not acknowledged, and a unit only reads and writes the database, so running it again
//     is safe).
// If the backend aborts the whole transaction (a full disk, a lost connection), every unit of
// the batch that had succeeded is completed with that error: nothing is acknowledged that did
// not commit.
//
// With a `sync` step, commit only writes the batch out and sync makes it durable on a second
// thread, so the next batch runs while the disk flushes; units are completed in commit order
// once a sync that began after their commit has returned.
//
// The backend supplies, for its connection type `Conn`: how to borrow a connection for one
// batch, and how to begin, commit, roll back and inspect a transaction on it.
// Where a committed batch's time went, in seconds: waiting to begin (SQLite: for the writer
// lock and a checkpoint's turn), running its units, committing.
struct BatchTimes {
  size_t units = 0;
  double begin = 0;
  double run = 0;
  double commit = 0;
};

template <class Conn>
class WriteBatcher {
  using Clock = std::chrono::steady_clock;
  static Clock::time_point Now() { return Clock::now(); }
  static double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

 public:
  using Work = std::function<Result<void>(Conn&)>;
  using Done = std::function<void(Result<void>)>;

  struct Backend {
    // Calls its argument with a connection for one batch.
    std::function<void(const std::function<void(Conn&)>&)> with_connection;
    std::function<Result<void>(Conn&)> begin;
    // Returns once the batch is durable, or (with `sync`) once it is written out.
    std::function<Result<void>(Conn&)> commit;
    std::function<void(Conn&)> rollback;
    // Runs one of SAVEPOINT / ROLLBACK TO / RELEASE (the same words on every backend).
    std::function<Result<void>(Conn&, const char* sql)> exec;
    // False when the backend has ended the transaction by itself after an error.
    std::function<bool(Conn&)> in_transaction;
    // Optional: a count that grows with every change the connection makes (see above).
    std::function<int64_t(Conn&)> changes;
    // Optional, with savepoints: sends what `exec` and the unit's statements left queued, so
    // that their failure is the unit's own (PostgreSQL sends a unit as one pipeline).
    std::function<Result<void>(Conn&)> flush;
    // Optional: makes every batch committed before the call durable.
    std::function<Result<void>()> sync;
    // Optional, with savepoints and `flush`: units share pipelines (see RunPipelined). The
    // number of statements the connection has queued so far, and the number of the one whose
    // failure the last flush (or a unit's own read) reported.
    std::function<uint64_t(Conn&)> statement_count;
    std::function<std::optional<uint64_t>(Conn&)> failed_statement;
    // Optional: told of each committed batch and of each sync step (for metrics).
    std::function<void(const BatchTimes&)> on_batch;
    std::function<void(double seconds)> on_sync;
  };

  // `threads` batches may run at once (on backends whose transactions can overlap, as
  // PostgreSQL's, whose own group commit then merges their flushes).
  explicit WriteBatcher(Backend backend, int threads = 1, size_t max_batch = 256)
      : backend_(std::move(backend)), max_batch_(max_batch) {
    if (backend_.sync) {
      syncer_ = std::thread([this] {
        NameThisThread("ad-write-sync");
        SyncLoop();
      });
    }
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] {
        NameThisThread("ad-writer");
        Loop();
      });
    }
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
    if (syncer_.joinable()) {
      {
        std::lock_guard lock(sync_mu_);
        sync_stopping_ = true;
        sync_cv_.notify_all();
      }
      syncer_.join();
    }
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
        while (!batch.empty()) {
          if (backend_.statement_count) {
            RunPipelined(conn, batch);
          } else {
            RunBatch(conn, batch);
          }
        }
      });
    }
  }

  enum class Outcome {
    kKept,    // succeeded, or failed having changed nothing
    kUndo,    // failed after changing rows: the transaction must be rolled back under it
    kBroken,  // the backend aborted the transaction
  };

  // Runs units from the front of `pending` in one transaction; units left over (the
  // transaction was rolled back under them) stay queued for the next one. With a `sync` step,
  // the transaction stays open while the previous batch is still being flushed, taking in
  // the units that arrive meanwhile: the disk is busy anyway, and a bigger batch writes each
  // shared page (index tails, counters) once for more units.
  void RunBatch(Conn& conn, std::deque<Unit>& pending) {
    const auto t0 = Now();
    if (!Begin(conn, pending)) return;
    const auto t1 = Now();
    std::vector<Unit> succeeded;  // whole: they run again if the batch rolls back under them
    // Runs what is pending; false once the transaction is gone.
    auto run_pending = [&]() -> bool {
      while (!pending.empty()) {
        Unit unit = std::move(pending.front());
        pending.pop_front();
        auto [r, outcome] = RunUnit(conn, unit.work);
        if (outcome == Outcome::kUndo) {
          backend_.rollback(conn);
          unit.done(std::move(r));
          for (auto it = succeeded.rbegin(); it != succeeded.rend(); ++it) {
            pending.push_front(std::move(*it));
          }
          return false;
        }
        if (outcome == Outcome::kBroken) {
          backend_.rollback(conn);
          const Result<void> lost = r ? Lost() : r;
          unit.done(r);
          for (auto& u : succeeded) u.done(lost);
          return false;
        }
        if (r) {
          succeeded.push_back(std::move(unit));
        } else {
          unit.done(std::move(r));
        }
      }
      return true;
    };
    if (!run_pending()) return;
    while (backend_.sync && TakeWhileFlushing(pending, succeeded.size())) {
      if (!run_pending()) return;
    }
    Commit(conn, succeeded, t0, t1);
  }

  // Begins a batch's transaction; if it cannot, completes every pending unit with the error.
  bool Begin(Conn& conn, std::deque<Unit>& pending) {
    auto r = backend_.begin(conn);
    if (r) return true;
    for (auto& u : pending) u.done(r);
    pending.clear();
    return false;
  }

  static Result<void> Lost() {
    return Fail(ErrorCode::kUnavailable, "storage_unavailable",
                "The database is unavailable; nothing was changed");
  }

  // Commits `succeeded` and completes them, at once or after the sync step (a batch with none
  // is rolled back). `t0`: when the batch asked to begin, `t1`: when it began.
  void Commit(Conn& conn, std::vector<Unit>& succeeded, Clock::time_point t0,
              Clock::time_point t1) {
    if (succeeded.empty()) {
      backend_.rollback(conn);
      return;
    }
    const auto t2 = Now();
    auto committed = backend_.commit(conn);
    if (!committed) backend_.rollback(conn);
    if (committed && backend_.on_batch) {
      backend_.on_batch(
          {succeeded.size(), Seconds(t1 - t0), Seconds(t2 - t1), Seconds(Now() - t2)});
    }
    if (committed && backend_.sync) {
      std::vector<Done> dones;
      dones.reserve(succeeded.size());
      for (auto& u : succeeded) dones.push_back(std::move(u.done));
      {
        std::lock_guard lock(mu_);
        ++flushing_;
      }
      std::lock_guard lock(sync_mu_);
      unsynced_.push_back(std::move(dones));
      sync_cv_.notify_one();
      return;
    }
    for (auto& u : succeeded) u.done(committed);
  }

  // Like RunBatch, for a backend whose statements can be queued and sent together (PostgreSQL):
  // each unit runs in its savepoint with its statements queued, and what is queued goes to the
  // server every kPipelineDepth units and before the commit, in one round trip for them all.
  // A failing statement aborts the rest of its pipeline: the unit it belongs to is rolled back
  // to its savepoint and completed with the error, the units before it stand, and the ones
  // after it run again (their statements never ran).
  void RunPipelined(Conn& conn, std::deque<Unit>& pending) {
    const auto t0 = Now();
    if (!Begin(conn, pending)) return;
    const auto t1 = Now();
    struct Sent {
      Unit unit;
      uint64_t first;  // the number of its first statement
    };
    std::vector<Unit> succeeded;
    std::vector<Sent> in_flight;  // run, their statements queued or sent but not confirmed
    // The transaction is gone: nothing of it is acknowledged.
    const auto broken = [&](const Result<void>& error, Unit* current) {
      backend_.rollback(conn);
      const Result<void> lost = Lost();
      if (current) current->done(error ? lost : error);
      for (auto& s : in_flight) s.unit.done(lost);
      for (auto& u : succeeded) u.done(lost);
      in_flight.clear();
      succeeded.clear();
    };
    const auto confirm_in_flight = [&] {
      for (auto& s : in_flight) succeeded.push_back(std::move(s.unit));
      in_flight.clear();
    };
    const auto undo = [&]() -> bool {
      return backend_.exec(conn, "ROLLBACK TO unit") && backend_.exec(conn, "RELEASE unit");
    };
    // After a statement failed (in a flush, or in `current`'s own read; `current`'s first
    // statement is number `first`): undoes the unit it belonged to and completes it with
    // `error`, keeps the units before it and queues the ones after it (and `current`, unless
    // it was the one) to run again. False if the transaction is gone: everything is then
    // completed.
    const auto recover = [&](const Result<void>& error, Unit* current, uint64_t first) -> bool {
      const auto failed = backend_.failed_statement(conn);
      if (!backend_.in_transaction(conn) || !failed || !undo()) {
        broken(error, current);
        return false;
      }
      // Whose statement it was: the last unit in flight that began at or before it, or
      // `current` if it began after all of them.
      const bool current_failed = current && *failed >= first;
      size_t culprit = in_flight.size();
      if (!current_failed) {
        culprit = 0;
        while (culprit + 1 < in_flight.size() && in_flight[culprit + 1].first <= *failed) {
          ++culprit;
        }
      }
      std::vector<Unit> again;
      for (size_t i = 0; i < in_flight.size(); ++i) {
        if (i < culprit) {
          succeeded.push_back(std::move(in_flight[i].unit));
        } else if (i == culprit) {
          in_flight[i].unit.done(error);
        } else {
          again.push_back(std::move(in_flight[i].unit));
        }
      }
      in_flight.clear();
      if (current_failed) {
        current->done(error);
      } else if (current) {
        again.push_back(std::move(*current));
      }
      for (auto it = again.rbegin(); it != again.rend(); ++it) pending.push_front(std::move(*it));
      return true;
    };
    // Sends what is queued; false if the transaction is gone.
    const auto settle = [&]() -> bool {
      if (in_flight.empty()) return true;
      if (auto flushed = backend_.flush(conn); !flushed) return recover(flushed, nullptr, 0);
      confirm_in_flight();
      return true;
    };
    const auto run_pending = [&]() -> bool {
      while (!pending.empty()) {
        Unit unit = std::move(pending.front());
        pending.pop_front();
        const uint64_t first = backend_.statement_count(conn);
        (void)backend_.exec(conn, "SAVEPOINT unit");  // queued: its failure shows in a flush
        Result<void> r = Call(conn, unit.work);
        if (r) {
          (void)backend_.exec(conn, "RELEASE unit");
          in_flight.push_back({std::move(unit), first});
          if (in_flight.size() >= kPipelineDepth && !settle()) return false;
          continue;
        }
        const auto failed = backend_.failed_statement(conn);
        const uint64_t oldest = in_flight.empty() ? first : in_flight.front().first;
        if (failed && *failed >= oldest) {
          // A statement failed in the unit's own read: its own, or one of the units before.
          if (!recover(r, &unit, first)) return false;
          continue;
        }
        // The unit failed by itself: what the units before it queued stands or falls first,
        // then its own statements are undone.
        if (auto flushed = backend_.flush(conn); !flushed) {
          if (!recover(flushed, &unit, first)) return false;
          continue;
        }
        confirm_in_flight();
        if (!undo()) {
          broken(r, &unit);
          return false;
        }
        unit.done(std::move(r));
      }
      return true;
    };
    for (;;) {
      if (!run_pending() || !settle()) return;
      if (!pending.empty()) continue;  // units after a failed one, to run again
      if (backend_.sync && TakeWhileFlushing(pending, succeeded.size())) continue;
      break;
    }
    Commit(conn, succeeded, t0, t1);
  }

  // While an earlier batch is being flushed, waits for more units and moves them to
  // `pending`; false once the flush is over (or the batch is full, or we are stopping).
  bool TakeWhileFlushing(std::deque<Unit>& pending, size_t batch_size) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopping_ || flushing_ == 0 || !queue_.empty(); });
    if (stopping_ || flushing_ == 0 || batch_size >= max_batch_) return false;
    const size_t n = std::min(max_batch_ - batch_size, queue_.size());
    for (size_t i = 0; i < n; ++i) {
      pending.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return true;
  }

  // Makes committed batches durable, many at a time, and completes their units in order.
  void SyncLoop() {
    for (;;) {
      std::deque<std::vector<Done>> batches;
      {
        std::unique_lock lock(sync_mu_);
        sync_cv_.wait(lock, [this] { return sync_stopping_ || !unsynced_.empty(); });
        if (unsynced_.empty()) return;
        batches.swap(unsynced_);
      }
      const auto started = Now();
      const Result<void> synced = backend_.sync();
      if (backend_.on_sync) backend_.on_sync(Seconds(Now() - started));
      {
        std::lock_guard lock(mu_);
        flushing_ -= static_cast<int>(batches.size());
        cv_.notify_all();
      }
      for (auto& dones : batches) {
        for (auto& d : dones) d(synced);
      }
    }
  }

  std::pair<Result<void>, Outcome> RunUnit(Conn& conn, const Work& work) {
    if (backend_.changes) {
      const int64_t before = backend_.changes(conn);
      Result<void> r = Call(conn, work);
      if (r) return {r, Outcome::kKept};
      if (!backend_.in_transaction(conn)) return {r, Outcome::kBroken};
      return {r, backend_.changes(conn) == before ? Outcome::kKept : Outcome::kUndo};
    }
    if (auto r = backend_.exec(conn, "SAVEPOINT unit"); !r) {
      return {r, backend_.in_transaction(conn) ? Outcome::kKept : Outcome::kBroken};
    }
    Result<void> r = Call(conn, work);
    if (r) {
      auto released = backend_.exec(conn, "RELEASE unit");
      if (released && backend_.flush) released = backend_.flush(conn);
      if (released) return {released, Outcome::kKept};
      r = released;  // the unit's statements, sent with the release, failed: undo it
    } else if (backend_.flush) {
      (void)backend_.flush(conn);
    }
    if (!backend_.in_transaction(conn)) return {r, Outcome::kBroken};
    if (auto back = backend_.exec(conn, "ROLLBACK TO unit"); !back) return {r, Outcome::kBroken};
    if (auto released = backend_.exec(conn, "RELEASE unit"); !released) {
      return {r, Outcome::kBroken};
    }
    return {r, Outcome::kKept};
  }

  static Result<void> Call(Conn& conn, const Work& work) {
    try {
      return work(conn);
    } catch (const std::exception& e) {
      return Internal(std::string("write unit threw: ") + e.what());
    }
  }

  // Units whose statements go to the server together (RunPipelined).
  static constexpr size_t kPipelineDepth = 32;

  Backend backend_;
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Unit> queue_;
  bool stopping_ = false;
  int flushing_ = 0;  // committed batches handed to the sync thread and not yet durable
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<std::vector<Done>> unsynced_;  // committed batches waiting for `sync`
  bool sync_stopping_ = false;
  std::thread syncer_;
  std::vector<std::thread> threads_;  // last: they start after everything they use
};

}  // namespace assistantd::storage
