#include "domain/assistant.hpp"

#include <string>
#include <unordered_set>

#include "common/time_format.hpp"
#include "domain/assistant_fields.hpp"
#include "domain/vapi_schema.hpp"

namespace assistantd::domain {

std::string_view ToString(SyncStatus status) {
  switch (status) {
    case SyncStatus::kPending:
      return "pending";
    case SyncStatus::kSynced:
      return "synced";
    case SyncStatus::kFailed:
      return "failed";
    case SyncStatus::kDeleting:
      return "deleting";
  }
  return "pending";
}

std::optional<SyncStatus> ParseSyncStatus(std::string_view text) {
  for (const auto s :
       {SyncStatus::kPending, SyncStatus::kSynced, SyncStatus::kFailed, SyncStatus::kDeleting}) {
    if (ToString(s) == text) return s;
  }
  return std::nullopt;
}

bool Assistant::IsTest() const {
  const auto it = fields.find("metadata");
  if (it == fields.end() || !it->is_object()) return false;
  const auto flag = it->find("is_test");
  return flag != it->end() && flag->is_boolean() && flag->get<bool>();
}

nlohmann::json ToWire(const Assistant& a) {
  nlohmann::json out = a.fields;
  out["id"] = a.id;
  out["userId"] = a.user_id;
  out["vapiId"] = a.vapi_id ? nlohmann::json(*a.vapi_id) : nlohmann::json(nullptr);
  out["syncStatus"] = ToString(a.sync_status);
  out["syncError"] = a.sync_error ? nlohmann::json(*a.sync_error) : nlohmann::json(nullptr);
  out["lastSyncedAt"] = a.last_synced_at_us ? nlohmann::json(FormatTimestamp(*a.last_synced_at_us))
                                            : nlohmann::json(nullptr);
  out["version"] = a.version;
  out["createdAt"] = FormatTimestamp(a.created_at_us);
  out["updatedAt"] = FormatTimestamp(a.updated_at_us);
  return out;
}

nlohmann::json Project(const nlohmann::json& wire, const std::vector<std::string>& fields) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : fields) {
    if (const auto it = wire.find(f); it != wire.end()) out[f] = *it;
  }
  return out;
}

Violations CheckBodyKeys(const nlohmann::json& body,
                         const std::vector<std::string_view>& also_allowed) {
  Violations out;
  for (const auto& [key, value] : body.items()) {
    bool extra = false;
    for (const auto a : also_allowed) extra = extra || a == key;
    if (extra || FindAssistantField(key)) continue;
    if (IsServerOwnedField(key)) {
      out.push_back({key, "is server-owned and cannot be written"});
    } else {
      out.push_back({key, "is not a known assistant field"});
    }
  }
  return out;
}

namespace {

// Strings longer than kMaxTextBytes anywhere in `value`, by path.
void CheckTextSizes(const nlohmann::json& value, const std::string& path, Violations& out) {
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().size() > kMaxTextBytes) {
      out.push_back({path, "must be at most " + std::to_string(kMaxTextBytes) + " bytes"});
    }
  } else if (value.is_object()) {
    for (const auto& [k, v] : value.items()) CheckTextSizes(v, path + "." + k, out);
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      CheckTextSizes(value[i], path + "[" + std::to_string(i) + "]", out);
    }
  }
}

}  // namespace

Violations ValidateFields(const nlohmann::json& fields) {
  Violations out;
  for (const auto& [key, value] : fields.items()) CheckTextSizes(value, key, out);
  if (fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size() >
      kMaxAssistantBytes) {
    out.push_back({"", "the assistant is larger than " + std::to_string(kMaxAssistantBytes) +
                           " bytes as JSON"});
  }
  for (const auto& [key, value] : fields.items()) {
    const FieldSpec* spec = FindAssistantField(key);
    if (!spec) continue;
    if (spec->sent_to_vapi) {
      if (const auto* vapi = JsonSchema::Property(VapiAssistantSchema(), key)) {
        JsonSchema::Validate(*vapi, value, key, out);
      }
    }
    if (const auto* local = LocalRule(key)) JsonSchema::Validate(*local, value, key, out);
  }
  // A schema can reach one sub-schema twice (Vapi's document pairs allOf and anyOf on the same
  // reference): report each violation once, and at most kMaxViolations of them, so a body of
  // many bad items costs one pass and a short answer.
  std::vector<Violation> unique;
  std::unordered_set<std::string> seen;
  for (auto& v : out) {
    if (unique.size() == kMaxViolations) break;
    if (seen.insert(v.field + '\n' + v.message).second) unique.push_back(std::move(v));
  }
  return unique;
}

nlohmann::json FieldsFromCreate(const nlohmann::json& body) {
  return ApplyMergePatch(nlohmann::json::object(), body);
}

nlohmann::json ApplyMergePatch(const nlohmann::json& current, const nlohmann::json& patch) {
  nlohmann::json out = current;
  out.merge_patch(patch);
  return out;
}

nlohmann::json ViolationDetails(const Violations& violations) {
  nlohmann::json details = nlohmann::json::array();
  for (const auto& v : violations) details.push_back({{"field", v.field}, {"message", v.message}});
  return details;
}

}  // namespace assistantd::domain
