#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/violation.hpp"

namespace assistantd::domain {

enum class SyncStatus { kPending, kSynced, kFailed, kDeleting };

std::string_view ToString(SyncStatus status);
std::optional<SyncStatus> ParseSyncStatus(std::string_view text);

struct Assistant {
  std::string id;
  std::string user_id;
  // Client-owned fields keyed by their camelCase wire names; valid per AssistantFields().
  nlohmann::json fields = nlohmann::json::object();
  std::optional<std::string> vapi_id;
  SyncStatus sync_status = SyncStatus::kPending;
  std::optional<std::string> sync_error;
  std::optional<int64_t> last_synced_at_us;
  int64_t version = 1;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;

  // metadata.is_test == true: the flag the `test` role is confined to.
  bool IsTest() const;
};

// The assistant as clients see it: client fields plus server-owned fields, camelCase.
nlohmann::json ToWire(const Assistant& assistant);

// Keeps only the named top-level keys of a wire object.
nlohmann::json Project(const nlohmann::json& wire, const std::vector<std::string>& fields);

// Checks the top-level keys of a create or patch body: server-owned fields and unknown fields
// are violations. `also_allowed` names extra request-only keys (e.g. ownerId).
Violations CheckBodyKeys(const nlohmann::json& body,
                         const std::vector<std::string_view>& also_allowed = {});

inline constexpr size_t kMaxViolations = 100;
// Bounds where Vapi's schema sets none, so one user's assistants cannot make the server hold
// (or answer) unbounded bytes: any one string, and all of an assistant's fields as JSON.
inline constexpr size_t kMaxTextBytes = 32 * 1024;
inline constexpr size_t kMaxAssistantBytes = 128 * 1024;
// Validates a complete set of client fields (after a create or a merge patch): at most
// kMaxViolations, each once.
Violations ValidateFields(const nlohmann::json& fields);

// The client fields a create body describes: JSON merge patch (RFC 7396) onto nothing, so
// null members mean "unset".
nlohmann::json FieldsFromCreate(const nlohmann::json& body);

// The client fields after applying a JSON merge patch (RFC 7396) to the current ones.
nlohmann::json ApplyMergePatch(const nlohmann::json& current, const nlohmann::json& patch);

// Turns violations into the `details` array of a validation error.
nlohmann::json ViolationDetails(const Violations& violations);

}  // namespace assistantd::domain
