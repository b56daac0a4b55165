#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/metrics.hpp"
#include "domain/assistant.hpp"
#include "storage/storage.hpp"

namespace assistantd::api {

// One assistant as stored and as served: its row, its full JSON representation and that
// representation's strong ETag, rendered once and shared by every request that reads it.
struct CachedAssistant {
  domain::Assistant row;
  std::string body;
  std::string etag;
};

// The read cache of assistants by id: bounded (bytes of representations), least recently used
// out first, and never stale. The database's change feed tells it every committed change to an
// assistant row (this process's, another instance's, a command's), which drops the row's
// entry; a read that missed stores what it read only if no change to that row's shard arrived
// since it began (Ticket), so a read racing a write cannot put the old version back. It holds
// rows, not answers: every request still checks the row against its own access scope.
class AssistantCache final : public storage::AssistantChangeSink {
 public:
  using Entry = std::shared_ptr<const CachedAssistant>;

  // `max_bytes` 0: nothing is ever stored. `metrics` (optional) gets its counters and gauges.
  AssistantCache(size_t max_bytes, MetricsRegistry* metrics);

  // The entry for `id` if it holds one (counted as a hit or a miss).
  Entry Find(const std::string& id);

  // Taken before the read whose result Fill may store.
  struct Ticket {
    size_t shard = 0;
    uint64_t generation = 0;
  };
  Ticket Reserve(std::string_view id);
  // Stores `entry` unless a change reached its shard since `ticket` was taken.
  void Fill(const Ticket& ticket, Entry entry);

  void Changed(std::string_view assistant_id) override;
  void ChangedAll() override;

  size_t Entries() const;
  size_t Bytes() const;

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    uint64_t generation = 0;  // bumped by every change that reaches the shard
    std::list<Entry> lru;     // most recently used first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views into lru
    size_t bytes = 0;
  };
  static size_t ShardOf(std::string_view id);
  static size_t SizeOf(const CachedAssistant& a);
  void Erase(Shard& shard,
             std::unordered_map<std::string_view, std::list<Entry>::iterator>::iterator it);

  size_t shard_bytes_;
  std::array<Shard, kShards> shards_;
  MetricCounter* hits_ = nullptr;
  MetricCounter* misses_ = nullptr;
  MetricCounter* invalidations_ = nullptr;
  MetricCounter* evictions_ = nullptr;
  MetricCounter* refused_fills_ = nullptr;
};

}  // namespace assistantd::api
