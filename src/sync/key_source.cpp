#include "sync/key_source.hpp"

namespace assistantd::sync {

std::optional<std::string> StoredKeySource::Stored(const std::string& owner) {
  auto stored = keys_.GetKey(owner);
  if (!stored) {
    LogEvent(logger_, spdlog::level::warn, "cannot read a stored Vapi key",
             {{"owner", owner}, {"error", stored.error().internal}});
    return std::nullopt;
  }
  if (!*stored) return std::nullopt;
  auto key = box_.Open((*stored)->sealed);
  if (!key) {
    // Sealed under another master key, or tampered with: unusable, and said so.
    LogEvent(logger_, spdlog::level::err, "a stored Vapi key does not open with the master key",
             {{"owner", owner}});
  }
  return key;
}

std::optional<std::string> StoredKeySource::KeyFor(const storage::SyncJob& job) {
  if (job.api_key_sealed) {
    if (auto given = box_.Open(*job.api_key_sealed)) return given;
    LogEvent(logger_, spdlog::level::err, "a job's Vapi key does not open with the master key",
             {{"jobId", job.id}});
  }
  return KeyForOwner(job.user_id);
}

std::optional<std::string> StoredKeySource::KeyForOwner(const std::string& user_id) {
  if (auto own = Stored(user_id)) return own;
  return DefaultKey();
}

std::optional<std::string> StoredKeySource::DefaultKey() {
  if (auto global = Stored(storage::kGlobalKeyOwner)) return global;
  return env_key_;
}

}  // namespace assistantd::sync
