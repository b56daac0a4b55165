#pragma once

// Metrics of the durable-write batches (WriteBatcher), the same on every backend: where a
// batch's time goes and how many writes it carries, so a slow write can be told apart as
// waiting for its turn, for the other writes of its batch, or for the disk.

#include <functional>

#include "common/metrics.hpp"
#include "storage/write_batcher.hpp"

namespace assistantd::storage {

struct WriteObservers {
  std::function<void(const BatchTimes&)> on_batch;
  std::function<void(double seconds)> on_sync;
};

inline WriteObservers ObserveWrites(MetricsRegistry& metrics) {
  metrics.DeclareHistogram(
      "assistantd_write_batch_seconds",
      "Durable-write batches by stage: waiting to begin (begin: on SQLite the writer lock and a "
      "checkpoint's turn), running their writes (run), committing (commit), and each flush "
      "that makes committed batches durable before they are acknowledged (sync)",
      {0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  metrics.DeclareHistogram("assistantd_write_batch_writes", "Writes per committed batch",
                           {1, 2, 4, 8, 16, 32, 64, 128, 256});
  auto& begin = metrics.Histogram("assistantd_write_batch_seconds", {{"stage", "begin"}});
  auto& run = metrics.Histogram("assistantd_write_batch_seconds", {{"stage", "run"}});
  auto& commit = metrics.Histogram("assistantd_write_batch_seconds", {{"stage", "commit"}});
  auto& sync = metrics.Histogram("assistantd_write_batch_seconds", {{"stage", "sync"}});
  auto& writes = metrics.Histogram("assistantd_write_batch_writes");
  return {[&](const BatchTimes& t) {
            begin.Observe(t.begin);
            run.Observe(t.run);
            commit.Observe(t.commit);
            writes.Observe(static_cast<double>(t.units));
          },
          [&](double seconds) { sync.Observe(seconds); }};
}

}  // namespace assistantd::storage
