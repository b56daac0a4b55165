#pragma once

#include <optional>
#include <string>

#include "storage/storage.hpp"

namespace assistantd::sync {

// Which Vapi API key a job runs with (PRODUCT.md C6 resolution order).
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual std::optional<std::string> KeyFor(const storage::SyncJob& job) = 0;
};

// The process-wide key from the environment (VAPI_API_KEY), the last step of C6's order.
class EnvKeySource final : public KeySource {
 public:
  explicit EnvKeySource(std::optional<std::string> key) : key_(std::move(key)) {}
  std::optional<std::string> KeyFor(const storage::SyncJob&) override { return key_; }

 private:
  std::optional<std::string> key_;
};

}  // namespace assistantd::sync
