#include "sync/reconciler.hpp"

#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "auth/secret_box.hpp"
#include "common/json_util.hpp"
#include "common/thread_name.hpp"
#include "common/time_format.hpp"
#include "domain/assistant_fields.hpp"
#include "vapi/vapi_list.hpp"

namespace assistantd::sync {
namespace {

using nlohmann::json;

constexpr int kScanBatch = 500;
constexpr int kListPageSize = 1000;    // Vapi's largest page
constexpr int kMaxListPages = 10'000;  // 10 million remote assistants per key
constexpr size_t kMaxItems = 100;      // items listed per finding in the summary

// One kind of finding: how many, and the first few.
struct Finding {
  int64_t count = 0;
  json items = json::array();
  void Add(json item) {
    ++count;
    if (items.size() < kMaxItems) items.push_back(std::move(item));
  }
  json ToJson() const { return {{"count", count}, {"items", items}}; }
};

struct LocalInfo {
  std::optional<std::string> vapi_id;
  domain::SyncStatus status = domain::SyncStatus::kPending;
  bool open_job = false;
  int64_t created_at_us = 0;
  int key = -1;  // index into the run's keys; -1 when no key applies
};

// One run's working state.
struct RunState {
  std::vector<std::string> keys;
  std::unordered_map<std::string, int> key_index;
  std::unordered_map<std::string, int> owner_key;
  std::unordered_map<std::string, LocalInfo> local;
  std::vector<std::unordered_set<std::string>> seen;  // remote ids per key
  std::vector<bool> complete;                         // per key: the whole list was read
  int64_t remote = 0, foreign = 0, matched = 0, in_flight = 0, without_key = 0;
  int64_t requeued = 0, deleted = 0, drift_requeued = 0;
  Finding missing, orphans, duplicates, drift;
  json errors = json::array();

  int KeyIndex(const std::optional<std::string>& key) {
    if (!key) return -1;
    auto [it, added] = key_index.try_emplace(*key, static_cast<int>(keys.size()));
    if (added) keys.push_back(*key);
    return it->second;
  }
};

// The fields where the remote copy differs from ours, both ways: a sent field whose remote
// value differs, and a Vapi field the copy holds that we do not.
std::vector<std::string> DriftedFields(const domain::Assistant& a, const std::string& instance_id,
                                       const json& remote) {
  std::vector<std::string> out;
  const json payload = domain::VapiPayload(a.fields, {a.id, instance_id});
  for (const auto& [name, value] : payload.items()) {
    const auto it = remote.find(name);
    if (it == remote.end() || !IsContainedIn(value, *it)) out.push_back(name);
  }
  for (auto& name : domain::RemoteOnlyFields(payload, remote)) out.push_back(std::move(name));
  return out;
}

}  // namespace

bool IsContainedIn(const json& local, const json& remote) {
  if (!local.is_object()) return local == remote;
  if (!remote.is_object()) return false;
  for (const auto& [name, value] : local.items()) {
    const auto it = remote.find(name);
    if (it == remote.end() || !IsContainedIn(value, *it)) return false;
  }
  return true;
}

Reconciler::Reconciler(storage::SyncStore& store, vapi::VapiClient& vapi, KeySource& keys,
                       SyncNotifier& notifier, const Clock& clock, std::string instance_id,
                       Logger logger, MetricsRegistry& metrics)
    : store_(store),
      vapi_(vapi),
      keys_(keys),
      notifier_(notifier),
      clock_(clock),
      instance_id_(std::move(instance_id)),
      logger_(std::move(logger)),
      metrics_(metrics) {
  metrics_.DeclareCounter("assistantd_reconcile_runs_total", "Reconciliation runs by result");
  metrics_.DeclareCounter("assistantd_reconcile_findings_total",
                          "Reconciliation findings by kind (missing, orphan, duplicate, drift)");
}

Reconciler::~Reconciler() { Stop(); }

Result<json> Reconciler::Run(const ReconcileOptions& options) {
  std::unique_lock running(run_mu_, std::try_to_lock);
  if (!running.owns_lock()) {
    return Fail(ErrorCode::kConflict, "reconcile_running", "A reconciliation is already running");
  }
  const int64_t started = clock_.NowMicros();
  RunState run;
  run.KeyIndex(keys_.DefaultKey());  // orphans may sit in the default organisation

  // 1. Every local assistant, and the key (so the organisation) its copy lives under.
  std::string after;
  for (;;) {
    auto batch = store_.ScanAssistants(after, kScanBatch);
    if (!batch) return tl::unexpected(batch.error());
    for (auto& s : *batch) {
      const auto& a = s.assistant;
      auto owner = run.owner_key.find(a.user_id);
      if (owner == run.owner_key.end()) {
        owner = run.owner_key.emplace(a.user_id, run.KeyIndex(keys_.KeyForOwner(a.user_id))).first;
      }
      run.local.emplace(
          a.id, LocalInfo{a.vapi_id, a.sync_status, s.open_job, a.created_at_us, owner->second});
    }
    if (batch->size() < static_cast<size_t>(kScanBatch)) break;
    after = batch->back().assistant.id;
  }
  run.seen.resize(run.keys.size());
  run.complete.assign(run.keys.size(), false);

  const auto requeue = [&](const std::string& id) {
    auto r = store_.Resync(id, domain::AccessScope{}, clock_.NowMicros(), std::nullopt);
    if (!r) {
      run.errors.push_back({{"assistantId", id}, {"error", r.error().message}});
      return false;
    }
    return *r;
  };

  // 2. Each organisation's remote list against the local rows.
  for (size_t k = 0; k < run.keys.size(); ++k) {
    const std::string& key = run.keys[k];
    const auto visit = [&](const json& remote) {
      ++run.remote;
      const std::string vapi_id = StringOr(remote, "id");
      run.seen[k].insert(vapi_id);
      const auto tag = domain::ReadRemoteTag(remote);
      const auto it = run.local.find(tag.assistant_id);
      if (it != run.local.end() && it->second.vapi_id == vapi_id) {
        ++run.matched;
        const LocalInfo& info = it->second;
        if (info.open_job || info.status != domain::SyncStatus::kSynced) return;
        auto fresh = store_.ScanAssistant(tag.assistant_id);
        if (!fresh || !*fresh || (*fresh)->open_job) return;  // changed since: its job syncs it
        const auto& a = (*fresh)->assistant;
        const auto fields = DriftedFields(a, instance_id_, remote);
        if (fields.empty()) return;
        run.drift.Add({{"assistantId", a.id}, {"vapiId", vapi_id}, {"fields", fields}});
        if (options.repair_drift && !options.dry_run && requeue(a.id)) ++run.drift_requeued;
        return;
      }
      // Only copies this installation made are ever deleted.
      if (tag.assistant_id.empty() || tag.instance_id != instance_id_) {
        ++run.foreign;
        return;
      }
      // Decide on the current row, not the snapshot: it may have synced since.
      auto fresh = store_.ScanAssistant(tag.assistant_id);
      if (!fresh) {
        run.errors.push_back({{"vapiId", vapi_id}, {"error", fresh.error().message}});
        return;
      }
      if (*fresh && (*fresh)->open_job) {
        ++run.in_flight;  // its job searches for and removes extra copies itself
        return;
      }
      if (*fresh && (*fresh)->assistant.vapi_id == vapi_id) {
        ++run.matched;
        return;
      }
      Finding& finding = *fresh ? run.duplicates : run.orphans;
      finding.Add({{"vapiId", vapi_id}, {"assistantId", tag.assistant_id}});
      if (options.dry_run) return;
      const auto r = vapi_.DeleteAssistant(key, vapi_id);
      if (r || r.error().status == 404) {
        ++run.deleted;
      } else {
        run.errors.push_back({{"vapiId", vapi_id}, {"error", r.error().reason}});
      }
    };
    vapi::ListParams params;
    params.limit = kListPageSize;
    const auto listed = vapi::ForEachRemoteAssistant(vapi_, key, params, kMaxListPages, visit);
    if (!listed) {
      run.errors.push_back({{"key", auth::MaskSecret(key)}, {"error", listed.error().reason}});
    } else if (!*listed) {
      run.errors.push_back({{"key", auth::MaskSecret(key)},
                            {"error", "the remote list could not be read to its end"}});
    } else {
      run.complete[k] = true;
    }
  }

  // 3. Local assistants whose copy is missing from a fully read organisation.
  for (const auto& [id, info] : run.local) {
    if (info.status == domain::SyncStatus::kDeleting || info.open_job ||
        info.created_at_us >= started) {
      continue;
    }
    if (info.key < 0) {
      ++run.without_key;
      continue;
    }
    if (!run.complete[info.key]) continue;
    if (info.vapi_id && run.seen[info.key].contains(*info.vapi_id)) continue;
    run.missing.Add(id);
    if (!options.dry_run && requeue(id)) ++run.requeued;
  }
  if (run.requeued + run.drift_requeued > 0) notifier_.Notify();

  for (const auto& [kind, finding] :
       {std::pair{"missing", &run.missing}, std::pair{"orphan", &run.orphans},
        std::pair{"duplicate", &run.duplicates}, std::pair{"drift", &run.drift}}) {
    if (finding->count > 0) {
      metrics_.Counter("assistantd_reconcile_findings_total", {{"kind", kind}})
          .Inc(static_cast<uint64_t>(finding->count));
    }
  }
  const bool complete = run.errors.empty();
  metrics_.Counter("assistantd_reconcile_runs_total", {{"result", complete ? "ok" : "partial"}})
      .Inc();
  json summary = {{"dryRun", options.dry_run},
                  {"repairDrift", options.repair_drift},
                  {"startedAt", FormatTimestamp(started)},
                  {"finishedAt", FormatTimestamp(clock_.NowMicros())},
                  {"complete", complete},
                  {"localAssistants", run.local.size()},
                  {"keys", run.keys.size()},
                  {"remoteAssistants", run.remote},
                  {"matched", run.matched},
                  {"foreign", run.foreign},
                  {"inFlight", run.in_flight},
                  {"withoutKey", run.without_key},
                  {"missing", run.missing.ToJson()},
                  {"orphans", run.orphans.ToJson()},
                  {"duplicates", run.duplicates.ToJson()},
                  {"drift", run.drift.ToJson()},
                  {"actions",
                   {{"requeued", run.requeued},
                    {"deleted", run.deleted},
                    {"driftRequeued", run.drift_requeued}}},
                  {"errors", run.errors}};
  LogEvent(logger_, complete ? spdlog::level::info : spdlog::level::warn, "reconciliation finished",
           {{"dryRun", options.dry_run},
            {"remote", run.remote},
            {"missing", run.missing.count},
            {"orphans", run.orphans.count},
            {"duplicates", run.duplicates.count},
            {"drift", run.drift.count},
            {"errors", run.errors.size()}});
  return summary;
}

void Reconciler::StartPeriodic(int64_t interval_us, ReconcileOptions options) {
  if (interval_us <= 0) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  periodic_ = std::thread([this, interval_us, options] {
    NameThisThread("ad-reconcile");
    std::unique_lock lock(mu_);
    while (
        !cv_.wait_for(lock, std::chrono::microseconds(interval_us), [this] { return stopping_; })) {
      lock.unlock();
      if (auto r = Run(options); !r) {
        LogEvent(logger_, spdlog::level::warn, "periodic reconciliation did not run",
                 {{"error", r.error().message}, {"detail", r.error().internal}});
      }
      lock.lock();
    }
  });
}

void Reconciler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (periodic_.joinable()) periodic_.join();
}

}  // namespace assistantd::sync
