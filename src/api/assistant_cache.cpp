#include "api/assistant_cache.hpp"

#include <functional>

namespace assistantd::api {

AssistantCache::AssistantCache(size_t max_bytes, MetricsRegistry* metrics)
    : shard_bytes_(max_bytes / kShards) {
  if (!metrics) return;
  metrics->DeclareCounter("assistantd_cache_lookups_total",
                          "Reads of an assistant by id, by whether the read cache held it");
  metrics->DeclareCounter("assistantd_cache_invalidations_total",
                          "Committed changes to assistants that reached the read cache");
  metrics->DeclareCounter("assistantd_cache_evictions_total",
                          "Entries dropped from the read cache to stay within --cache-size");
  metrics->DeclareCounter("assistantd_cache_refused_fills_total",
                          "Reads not stored in the cache because the row changed meanwhile");
  metrics->DeclareGauge("assistantd_cache_entries", "Assistants held by the read cache",
                        [this] { return static_cast<double>(Entries()); });
  metrics->DeclareGauge("assistantd_cache_bytes", "Bytes of representations held by the read cache",
                        [this] { return static_cast<double>(Bytes()); });
  hits_ = &metrics->Counter("assistantd_cache_lookups_total", {{"result", "hit"}});
  misses_ = &metrics->Counter("assistantd_cache_lookups_total", {{"result", "miss"}});
  invalidations_ = &metrics->Counter("assistantd_cache_invalidations_total");
  evictions_ = &metrics->Counter("assistantd_cache_evictions_total");
  refused_fills_ = &metrics->Counter("assistantd_cache_refused_fills_total");
}

size_t AssistantCache::ShardOf(std::string_view id) {
  return std::hash<std::string_view>{}(id) % kShards;
}

size_t AssistantCache::SizeOf(const CachedAssistant& a) {
  // The representation twice (the body, and the row's fields it was rendered from) plus the
  // bookkeeping: an estimate that grows with what the entry really holds.
  return 2 * a.body.size() + a.etag.size() + a.row.id.size() + 256;
}

AssistantCache::Entry AssistantCache::Find(const std::string& id) {
  Shard& shard = shards_[ShardOf(id)];
  std::lock_guard lock(shard.mu);
  const auto it = shard.index.find(id);
  if (it == shard.index.end()) {
    if (misses_) misses_->Inc();
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  if (hits_) hits_->Inc();
  return *it->second;
}

AssistantCache::Ticket AssistantCache::Reserve(std::string_view id) {
  const size_t s = ShardOf(id);
  std::lock_guard lock(shards_[s].mu);
  return Ticket{s, shards_[s].generation};
}

void AssistantCache::Erase(
    Shard& shard, std::unordered_map<std::string_view, std::list<Entry>::iterator>::iterator it) {
  const auto node = it->second;
  shard.bytes -= SizeOf(**node);
  shard.index.erase(it);
  shard.lru.erase(node);
}

void AssistantCache::Fill(const Ticket& ticket, Entry entry) {
  if (!entry || shard_bytes_ == 0) return;
  const size_t size = SizeOf(*entry);
  if (size > shard_bytes_) return;
  Shard& shard = shards_[ticket.shard];
  std::lock_guard lock(shard.mu);
  if (shard.generation != ticket.generation) {
    if (refused_fills_) refused_fills_->Inc();
    return;
  }
  if (const auto it = shard.index.find(entry->row.id); it != shard.index.end()) Erase(shard, it);
  while (shard.bytes + size > shard_bytes_ && !shard.lru.empty()) {
    Erase(shard, shard.index.find(shard.lru.back()->row.id));
    if (evictions_) evictions_->Inc();
  }
  shard.lru.push_front(std::move(entry));
  shard.index.emplace(shard.lru.front()->row.id, shard.lru.begin());
  shard.bytes += size;
}

void AssistantCache::Changed(std::string_view assistant_id) {
  Shard& shard = shards_[ShardOf(assistant_id)];
  std::lock_guard lock(shard.mu);
  ++shard.generation;
  if (const auto it = shard.index.find(assistant_id); it != shard.index.end()) Erase(shard, it);
  if (invalidations_) invalidations_->Inc();
}

void AssistantCache::ChangedAll() {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    ++shard.generation;
    shard.index.clear();
    shard.lru.clear();
    shard.bytes = 0;
  }
  if (invalidations_) invalidations_->Inc();
}

size_t AssistantCache::Entries() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.index.size();
  }
  return n;
}

size_t AssistantCache::Bytes() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.bytes;
  }
  return n;
}

}  // namespace assistantd::api
