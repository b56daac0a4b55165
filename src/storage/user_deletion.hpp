#pragma once

// Deleting a user, written once for every backend: which rows go, which remote copies are
// queued for deletion and with which key, and when the deletion is audited. Each backend
// supplies the statements, run inside one write transaction of its own.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "storage/storage.hpp"

namespace assistantd::storage {

class UserDeletionSteps {
 public:
  virtual ~UserDeletionSteps() = default;
  // The user's stored Vapi key (sealed), if any.
  virtual Result<std::optional<std::string>> OwnKey(const std::string& user_id) = 0;
  // The user's assistants (id, remote id), locked until the transaction ends where the
  // backend can.
  using Owned = std::vector<std::pair<std::string, std::optional<std::string>>>;
  virtual Result<Owned> OwnedAssistants(const std::string& user_id) = 0;
  virtual Result<void> QueueRemoteDeletion(const std::string& assistant_id,
                                           const std::string& user_id,
                                           const std::optional<std::string>& vapi_id,
                                           int64_t now_us,
                                           const std::optional<std::string>& key) = 0;
  virtual Result<void> DeleteKey(const std::string& owner) = 0;
  // Deletes the user row (its assistants, sessions and tokens go by ON DELETE CASCADE);
  // false if there was none.
  virtual Result<bool> DeleteUserRow(const std::string& user_id) = 0;
  virtual Result<void> Audit(const ChangeAudit& audit) = 0;
};

// Deletes the user. Every assistant that may exist in Vapi gets a job that deletes the
// remote copy; the job carries the user's own key (sealed as stored), since the key itself
// goes with the user, and the job erases it when it completes. Audited only if the user
// existed.
inline Result<bool> DeleteUserWith(UserDeletionSteps& steps, const std::string& user_id,
                                   int64_t now_us, const ChangeAudit& audit) {
  auto key = steps.OwnKey(user_id);
  if (!key) return tl::unexpected(key.error());
  auto owned = steps.OwnedAssistants(user_id);
  if (!owned) return tl::unexpected(owned.error());
  for (const auto& [assistant_id, vapi_id] : *owned) {
    if (auto r = steps.QueueRemoteDeletion(assistant_id, user_id, vapi_id, now_us, *key); !r) {
      return tl::unexpected(r.error());
    }
  }
  if (auto r = steps.DeleteKey(user_id); !r) return tl::unexpected(r.error());
  auto deleted = steps.DeleteUserRow(user_id);
  if (!deleted || !*deleted) return deleted;
  if (auto r = steps.Audit(audit); !r) return tl::unexpected(r.error());
  return true;
}

}  // namespace assistantd::storage
