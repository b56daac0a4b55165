#include "domain/assistant_fields.hpp"

#include <cstdlib>
#include <vector>

#include "domain/json_schema.hpp"
#include "domain/vapi_schema.hpp"

namespace assistantd::domain {
namespace {

// Fields Vapi's schema alone checks.
constexpr std::string_view kVapiOnly{};

// The field table. Rules are JSON Schema, like Vapi's, and checked by the same validator.
std::vector<FieldSpec> BuildFields() {
  using S = StorageType;
  constexpr std::string_view vapi = kVapiOnly;
  std::vector<FieldSpec> f;
  f.push_back({"name", "name", S::kText, true, vapi});
  f.push_back({"firstMessage", "first_message", S::kText, true, vapi});
  f.push_back({"firstMessageMode", "first_message_mode", S::kText, true, vapi});
  f.push_back({"firstMessageInterruptionsEnabled", "first_message_interruptions_enabled",
               S::kBoolean, true, vapi});
  f.push_back({"model", "model", S::kJson, true, vapi});
  f.push_back({"voice", "voice", S::kJson, true, vapi});
  f.push_back({"transcriber", "transcriber", S::kJson, true, vapi});
  f.push_back({"maxDurationSeconds", "max_duration_seconds", S::kNumber, true, vapi});
  f.push_back({"endCallMessage", "end_call_message", S::kText, true, vapi});
  f.push_back({"endCallPhrases", "end_call_phrases", S::kJson, true, vapi});
  f.push_back({"voicemailMessage", "voicemail_message", S::kText, true, vapi});
  f.push_back({"voicemailDetection", "voicemail_detection", S::kJson, true, vapi});
  f.push_back({"backgroundSound", "background_sound", S::kText, true, vapi});
  // Free-form for Vapi; our `is_test` flag (excluded from quotas) must be a boolean.
  f.push_back({"metadata", "metadata", S::kJson, true,
               R"({"type": "object", "properties": {"is_test": {"type": "boolean"}}})"});
  f.push_back({"server", "server", S::kJson, true, vapi});
  f.push_back({"clientMessages", "client_messages", S::kJson, true, vapi});
  f.push_back({"serverMessages", "server_messages", S::kJson, true, vapi});
  f.push_back({"hooks", "hooks", S::kJson, true, vapi});
  f.push_back({"modelOutputInMessagesEnabled", "model_output_in_messages_enabled", S::kBoolean,
               true, vapi});
  f.push_back({"transportConfigurations", "transport_configurations", S::kJson, true, vapi});
  f.push_back({"observabilityPlan", "observability_plan", S::kJson, true, vapi});
  f.push_back({"credentials", "credentials", S::kJson, true, vapi});
  f.push_back({"credentialIds", "credential_ids", S::kJson, true, vapi});
  f.push_back({"compliancePlan", "compliance_plan", S::kJson, true, vapi});
  f.push_back(
      {"backgroundSpeechDenoisingPlan", "background_speech_denoising_plan", S::kJson, true, vapi});
  f.push_back({"analysisPlan", "analysis_plan", S::kJson, true, vapi});
  f.push_back({"artifactPlan", "artifact_plan", S::kJson, true, vapi});
  f.push_back({"startSpeakingPlan", "start_speaking_plan", S::kJson, true, vapi});
  f.push_back({"stopSpeakingPlan", "stop_speaking_plan", S::kJson, true, vapi});
  f.push_back({"monitorPlan", "monitor_plan", S::kJson, true, vapi});
  f.push_back({"keypadInputPlan", "keypad_input_plan", S::kJson, true, vapi});
  // Documented by Vapi's call-timeout page (10–3600 s), but absent from CreateAssistantDto and
  // UpdateAssistantDto in SDK 2.0.1 and in Vapi's OpenAPI document (only TransferAssistant has
  // it; spec §7), and Vapi refuses unknown properties (400 "property … should not exist"). So
  // it is kept locally, like endCallAfterSilence, and never sent.
  f.push_back({"silenceTimeoutSeconds", "silence_timeout_seconds", S::kNumber, false,
               R"({"type": "number", "minimum": 10, "maximum": 3600})"});
  // The seed's legacy flag: kept locally, never sent to Vapi (spec §7).
  f.push_back({"endCallAfterSilence", "end_call_after_silence", S::kBoolean, false,
               R"({"type": "boolean"})"});
  return f;
}

const std::vector<FieldSpec>& Fields() {
  static const std::vector<FieldSpec> fields = BuildFields();
  return fields;
}

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

std::span<const FieldSpec> AssistantFields() { return Fields(); }

std::span<const ServerFieldSpec> ServerOwnedFields() { return kServerFields; }

const FieldSpec* FindAssistantField(std::string_view wire) {
  for (const auto& f : Fields()) {
    if (f.wire == wire) return &f;
  }
  return nullptr;
}

const JsonSchema::Node* LocalRule(std::string_view wire) {
  // The rules are part of the source, so a rule that does not compile is a build defect.
  static const JsonSchema rules = [] {
    nlohmann::json definitions = nlohmann::json::object();
    for (const auto& f : Fields()) {
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
