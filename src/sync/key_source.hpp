#pragma once

#include <optional>
#include <string>

#include "auth/secret_box.hpp"
#include "common/logging.hpp"
#include "storage/storage.hpp"

namespace assistantd::sync {

// Which Vapi API key a job runs with (PRODUCT.md C6 resolution order).
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual std::optional<std::string> KeyFor(const storage::SyncJob& job) = 0;
  // The key an owner's assistants use when no key comes with the request.
  virtual std::optional<std::string> KeyForOwner(const std::string& user_id) = 0;
  // The key of owners without one of their own (global, then environment).
  virtual std::optional<std::string> DefaultKey() = 0;
};

// C6's order: the key given with the request (sealed on the job), the owner's stored key, the
// global stored key, the process-wide key from the environment (VAPI_API_KEY). Stored keys are
// opened with the master key at each use and never logged.
class StoredKeySource final : public KeySource {
 public:
  StoredKeySource(storage::KeyStore& keys, const auth::SecretBox& box,
                  std::optional<std::string> env_key, Logger logger)
      : keys_(keys), box_(box), env_key_(std::move(env_key)), logger_(std::move(logger)) {}

  std::optional<std::string> KeyFor(const storage::SyncJob& job) override;
  std::optional<std::string> KeyForOwner(const std::string& user_id) override;
  std::optional<std::string> DefaultKey() override;

 private:
  std::optional<std::string> Stored(const std::string& owner);

  storage::KeyStore& keys_;
  const auth::SecretBox& box_;
  std::optional<std::string> env_key_;
  Logger logger_;
};

}  // namespace assistantd::sync
