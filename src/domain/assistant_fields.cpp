#include "domain/assistant_fields.hpp"

#include <cstdlib>

#include "domain/json_schema.hpp"
#include "domain/vapi_schema.hpp"

namespace assistantd::domain {
namespace {

using S = StorageType;
// Fields Vapi's schema alone checks (no rule of ours).
constexpr std::string_view kVapi{};

// The field table. Our rules are JSON Schema, checked by the same validator as Vapi's.
constexpr FieldSpec kFields[] = {
    {"name", "name", S::kText, true, kVapi},
    {"firstMessage", "first_message", S::kText, true, kVapi},
    {"firstMessageMode", "first_message_mode", S::kText, true, kVapi},
    {"firstMessageInterruptionsEnabled", "first_message_interruptions_enabled", S::kBoolean, true,
     kVapi},
    {"model", "model", S::kJson, true, kVapi},
    {"voice", "voice", S::kJson, true, kVapi},
    {"transcriber", "transcriber", S::kJson, true, kVapi},
    {"maxDurationSeconds", "max_duration_seconds", S::kNumber, true, kVapi},
    {"endCallMessage", "end_call_message", S::kText, true, kVapi},
    {"endCallPhrases", "end_call_phrases", S::kJson, true, kVapi},
    {"voicemailMessage", "voicemail_message", S::kText, true, kVapi},
    {"voicemailDetection", "voicemail_detection", S::kJson, true, kVapi},
    {"backgroundSound", "background_sound", S::kText, true, kVapi},
    // Free-form for Vapi; our `is_test` flag (excluded from quotas) must be a boolean.
    {"metadata", "metadata", S::kJson, true,
     R"({"type": "object", "properties": {"is_test": {"type": "boolean"}}})"},
    {"server", "server", S::kJson, true, kVapi},
    {"clientMessages", "client_messages", S::kJson, true, kVapi},
    {"serverMessages", "server_messages", S::kJson, true, kVapi},
    {"hooks", "hooks", S::kJson, true, kVapi},
    {"modelOutputInMessagesEnabled", "model_output_in_messages_enabled", S::kBoolean, true, kVapi},
    {"transportConfigurations", "transport_configurations", S::kJson, true, kVapi},
    {"observabilityPlan", "observability_plan", S::kJson, true, kVapi},
    {"credentials", "credentials", S::kJson, true, kVapi},
    {"credentialIds", "credential_ids", S::kJson, true, kVapi},
    {"compliancePlan", "compliance_plan", S::kJson, true, kVapi},
    {"backgroundSpeechDenoisingPlan", "background_speech_denoising_plan", S::kJson, true, kVapi},
    {"analysisPlan", "analysis_plan", S::kJson, true, kVapi},
    {"artifactPlan", "artifact_plan", S::kJson, true, kVapi},
    {"startSpeakingPlan", "start_speaking_plan", S::kJson, true, kVapi},
    {"stopSpeakingPlan", "stop_speaking_plan", S::kJson, true, kVapi},
    {"monitorPlan", "monitor_plan", S::kJson, true, kVapi},
    {"keypadInputPlan", "keypad_input_plan", S::kJson, true, kVapi},
    // Documented by Vapi's call-timeout page (10–3600 s), but absent from CreateAssistantDto and
    // UpdateAssistantDto in SDK 2.0.1 and in Vapi's OpenAPI document (only TransferAssistant has
    // it; spec §7), and Vapi refuses unknown properties (400 "property … should not exist"). So
    // it is kept locally, like endCallAfterSilence, and never sent.
    {"silenceTimeoutSeconds", "silence_timeout_seconds", S::kNumber, false,
     R"({"type": "number", "minimum": 10, "maximum": 3600})"},
    // The seed's legacy flag: kept locally, never sent to Vapi (spec §7).
    {"endCallAfterSilence", "end_call_after_silence", S::kBoolean, false, R"({"type": "boolean"})"},
};

constexpr ServerFieldSpec kServerFields[] = {
    {"id", "id"},
    {"userId", "user_id"},
    {"vapiId", "vapi_id"},
    {"syncStatus", "sync_status"},
    {"syncError", "sync_error"},
    {"lastSyncedAt", "last_synced_at"},
    {"version", "version"},
    {"createdAt", "created_at"},
    {"updatedAt", "updated_at"},
};

}  // namespace

std::span<const FieldSpec> AssistantFields() { return kFields; }

std::span<const ServerFieldSpec> ServerOwnedFields() { return kServerFields; }

const FieldSpec* FindAssistantField(std::string_view wire) {
  for (const auto& f : kFields) {
    if (f.wire == wire) return &f;
  }
  return nullptr;
}

const JsonSchema::Node* LocalRule(std::string_view wire) {
  // The rules are part of the source, so a rule that does not compile is a build defect.
  static const JsonSchema rules = [] {
    nlohmann::json definitions = nlohmann::json::object();
    for (const auto& f : kFields) {
      if (!f.rule.empty()) definitions[std::string(f.wire)] = nlohmann::json::parse(f.rule);
    }
    auto compiled = JsonSchema::Compile({{"definitions", definitions}});
    if (!compiled) std::abort();
    return std::move(*compiled);
  }();
  return rules.Definition(wire);
}

bool IsServerOwnedField(std::string_view wire) {
  for (const auto& f : kServerFields) {
    if (f.wire == wire) return true;
  }
  return false;
}

nlohmann::json VapiPayload(const nlohmann::json& fields, const RemoteTag& tag) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : fields.items()) {
    const FieldSpec* spec = FindAssistantField(key);
    if (spec && spec->sent_to_vapi) out[key] = value;
  }
  if (!out.contains("metadata") || !out["metadata"].is_object()) {
    out["metadata"] = nlohmann::json::object();
  }
  out["metadata"]["assistantdId"] = tag.assistant_id;
  if (!tag.instance_id.empty()) out["metadata"]["assistantdInstance"] = tag.instance_id;
  return out;
}

nlohmann::json VapiClearValue(std::string_view wire) {
  const auto* property = JsonSchema::Property(VapiAssistantSchema(), wire);
  const auto* fallback = property ? JsonSchema::Default(*property) : nullptr;
  return fallback ? *fallback : nlohmann::json(nullptr);
}

std::vector<std::string> RemoteOnlyFields(const nlohmann::json& payload,
                                          const nlohmann::json& remote) {
  std::vector<std::string> out;
  if (!remote.is_object()) return out;
  for (const auto& [key, value] : remote.items()) {
    const FieldSpec* spec = FindAssistantField(key);
    if (!spec || !spec->sent_to_vapi || payload.contains(key) || value.is_null()) continue;
    if (value == VapiClearValue(key)) continue;
    out.push_back(key);
  }
  return out;
}

nlohmann::json VapiClearPayload(const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& name : names) out[name] = VapiClearValue(name);
  return out;
}

RemoteTag ReadRemoteTag(const nlohmann::json& remote) {
  RemoteTag tag;
  if (!remote.is_object()) return tag;
  const auto meta = remote.find("metadata");
  if (meta == remote.end() || !meta->is_object()) return tag;
  const auto text = [&](const char* name) {
    const auto it = meta->find(name);
    return it != meta->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  tag.assistant_id = text("assistantdId");
  tag.instance_id = text("assistantdInstance");
  return tag;
}

}  // namespace assistantd::domain
