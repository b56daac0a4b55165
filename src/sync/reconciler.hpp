#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "storage/storage.hpp"
#include "sync/key_source.hpp"
#include "sync/notifier.hpp"
#include "vapi/vapi_client.hpp"

namespace assistantd::sync {

struct ReconcileOptions {
  bool dry_run = false;       // report only: no remote call but reads, no job queued
  bool repair_drift = false;  // queue a sync for assistants changed remotely out of band
};

// Compares Vapi with the local database (PRODUCT.md C8) for every key in use: lists each
// key's organisation, then
//  - re-queues local assistants whose remote copy is missing (the worker creates it again),
//  - deletes remote copies tagged with this installation whose assistant no longer exists
//    (orphans) or whose assistant records another vapiId (duplicates),
//  - reports drift (sent fields changed remotely) and, on request, queues a sync to undo it.
// Assistants with an open sync job are left to it. Writes go through the outbox, so they keep
// the per-assistant order the workers guarantee.
class Reconciler {
 public:
  Reconciler(storage::SyncStore& store, vapi::VapiClient& vapi, KeySource& keys,
             SyncNotifier& notifier, const Clock& clock, std::string instance_id, Logger logger,
             MetricsRegistry& metrics);
  ~Reconciler();

  // The summary as JSON. kConflict (reconcile_running) while another run is in progress.
  Result<nlohmann::json> Run(const ReconcileOptions& options);

  // Runs every `interval_us` on a thread of its own until Stop().
  void StartPeriodic(int64_t interval_us, ReconcileOptions options);
  void Stop();

 private:
  storage::SyncStore& store_;
  vapi::VapiClient& vapi_;
  KeySource& keys_;
  SyncNotifier& notifier_;
  const Clock& clock_;
  std::string instance_id_;
  Logger logger_;
  MetricsRegistry& metrics_;
  std::mutex run_mu_;  // one run at a time

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread periodic_;
};

// Whether every member of `local` appears in `remote` with the same value (objects compared
// member by member, so defaults Vapi adds to nested objects are not drift).
bool IsContainedIn(const nlohmann::json& local, const nlohmann::json& remote);

}  // namespace assistantd::sync
