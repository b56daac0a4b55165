#include "domain/assistant_fields.hpp"

#include <vector>

namespace assistantd::domain {
namespace {

// Provider lists and limits follow ../shared/spec/vapi-assistants-api.md (SDK 2.0.1 + OAS).
const std::vector<std::string> kModelProviders = {
    "anthropic",  "anthropic-bedrock", "anyscale", "cerebras",      "custom-llm", "deepinfra",
    "deep-seek",  "google",            "groq",     "inflection-ai", "minimax",    "openai",
    "openrouter", "perplexity-ai",     "together-ai", "xai",        "vapi"};
const std::vector<std::string> kVoiceProviders = {
    "azure", "cartesia", "custom-voice", "deepgram", "11labs",      "hume",  "lmnt",
    "neuphonic", "openai", "playht",     "wellsaid", "rime-ai",     "smallest-ai", "tavus",
    "vapi",  "sesame",   "inworld",      "minimax",  "xai",         "microsoft"};
const std::vector<std::string> kTranscriberProviders = {
    "assembly-ai", "azure",  "custom-transcriber", "deepgram", "11labs", "gladia", "google",
    "speechmatics", "talkscriber", "openai", "cartesia", "soniox", "xai", "vapi"};
const std::vector<std::string> kClientMessages = {
    "conversation-update", "assistant.speechStarted", "function-call", "function-call-result",
    "hang", "language-changed", "metadata", "model-output", "speech-update", "status-update",
    "transcript", "tool-calls", "tool-calls-result", "tool.completed", "transfer-update",
    "user-interrupted", "voice-input", "workflow.node.started", "assistant.started"};
const std::vector<std::string> kServerMessages = {
    "assistant.started", "assistant.speechStarted", "conversation-update", "end-of-call-report",
    "function-call", "hang", "language-changed", "language-change-detected", "model-output",
    "phone-call-control", "speech-update", "status-update", "transcript",
    "transcript[transcriptType=\"final\"]", "tool-calls", "transfer-destination-request",
    "handoff-destination-request", "transfer-update", "user-interrupted", "voice-input",
    "chat.created", "chat.deleted", "session.created", "session.updated", "session.deleted",
    "call.deleted", "call.delete.failed", "call.artifact.upload"};

void CheckModel(const nlohmann::json& v, const std::string& path, Violations& out) {
  const auto provider = v.value("provider", std::string());
  if (provider != "vapi" && !v.contains("model")) {
    out.push_back({path + ".model", "is required for provider \"" + provider + "\""});
  }
  if (provider == "custom-llm" && !v.contains("url")) {
    out.push_back({path + ".url", "is required for provider \"custom-llm\""});
  }
}

void CheckVoice(const nlohmann::json& v, const std::string& path, Violations& out) {
  const auto provider = v.value("provider", std::string());
  if (provider == "custom-voice") {
    if (!v.contains("server")) out.push_back({path + ".server", "is required for custom-voice"});
  } else if (!v.contains("voiceId")) {
    out.push_back({path + ".voiceId", "is required for provider \"" + provider + "\""});
  }
  if (provider == "neuphonic" && !v.contains("language")) {
    out.push_back({path + ".language", "is required for provider \"neuphonic\""});
  }
  if (provider == "sesame" && !v.contains("model")) {
    out.push_back({path + ".model", "is required for provider \"sesame\""});
  }
  const auto range = [&](const char* key, double lo, double hi) {
    if (v.contains(key)) Validate(Number(lo, hi), v[key], path + "." + key, out);
  };
  if (provider == "11labs") {
    range("stability", 0, 1);
    range("similarityBoost", 0, 1);
    range("style", 0, 1);
    range("speed", 0.7, 1.2);
  } else if (provider == "vapi") {
    range("speed", 0.25, 2);
  }
}

void CheckHookOn(const nlohmann::json& v, const std::string& path, Violations& out) {
  static const std::vector<std::string> kEvents = {"call.ending", "assistant.speech.interrupted",
                                                   "customer.speech.interrupted",
                                                   "session.created", "customer.speech.timeout"};
  const auto& s = v.get_ref<const std::string&>();
  for (const auto& e : kEvents) {
    if (s == e) return;
  }
  if (s.starts_with("customer.speech.timeout[") && s.ends_with("]")) return;
  out.push_back({path, "must be a supported hook event (call.ending, "
                       "assistant.speech.interrupted, customer.speech.interrupted, "
                       "session.created, customer.speech.timeout[...])"});
}

Rule HookOnRule() {
  Rule r = String(1, 200);
  r.check = CheckHookOn;
  return r;
}

Rule ModelRule() {
  return Object(
      {{"provider", Enum(kModelProviders)},
       {"model", String(1, 200)},
       {"url", Uri()},
       {"messages", Array(Object({{"role", Enum({"system", "user", "assistant", "function",
                                                 "tool"})},
                                  {"content", Nullable(String())}},
                                 {"role"}))},
       {"tools", Array(Object())},
       {"toolIds", Array(String(1, 200))},
       {"knowledgeBase", Object()},
       {"temperature", Number(0, 2)},
       {"maxTokens", Integer(50, 10000)},
       {"emotionRecognitionEnabled", Boolean()},
       {"numFastTurns", Integer(0)}},
      {"provider"}, CheckModel);
}

Rule VoiceRule() {
  return Object({{"provider", Enum(kVoiceProviders)},
                 {"voiceId", String(1, 200)},
                 {"model", String(1, 200)},
                 {"language", String(1, 50)},
                 {"server", Object()}},
                {"provider"}, CheckVoice);
}

Rule TranscriberRule() {
  return Object({{"provider", Enum(kTranscriberProviders)},
                 {"model", String(1, 200)},
                 {"language", String(1, 50)}},
                {"provider"});
}

Rule ServerRule() {
  return Object({{"url", Uri()},
                 {"headers", Object()},
                 {"credentialId", String(1, 200)},
                 {"timeoutSeconds", Number(1, 300)},
                 {"staticIpAddressesEnabled", Boolean()},
                 {"encryptedPaths", Array(String())},
                 {"backoffPlan", Object()}});
}

Rule HookRule() {
  return Object({{"on", HookOnRule()},
                 {"do", Array(Object({{"type", Enum({"say", "tool", "message.add"})}}))},
                 {"name", String(1, 1000)},
                 {"options", Object({{"timeoutSeconds", Number(2, 1000)},
                                     {"triggerMaxCount", Integer(1)},
                                     {"triggerResetMode", String(1, 100)}})}},
                {"on", "do"});
}

std::vector<FieldSpec> BuildFields() {
  using S = StorageType;
  std::vector<FieldSpec> f;
  f.push_back({"name", "name", S::kText, true, String(0, 40)});
  f.push_back({"firstMessage", "first_message", S::kText, true, String()});
  f.push_back({"firstMessageMode", "first_message_mode", S::kText, true,
               Enum({"assistant-speaks-first", "assistant-waits-for-user",
                     "assistant-speaks-first-with-model-generated-message"})});
  f.push_back({"firstMessageInterruptionsEnabled", "first_message_interruptions_enabled",
               S::kBoolean, true, Boolean()});
  f.push_back({"model", "model", S::kJson, true, ModelRule()});
  f.push_back({"voice", "voice", S::kJson, true, VoiceRule()});
  f.push_back({"transcriber", "transcriber", S::kJson, true, TranscriberRule()});
  f.push_back({"maxDurationSeconds", "max_duration_seconds", S::kNumber, true, Number(10, 43200)});
  f.push_back({"endCallMessage", "end_call_message", S::kText, true, String(0, 1000)});
  f.push_back({"endCallPhrases", "end_call_phrases", S::kJson, true, Array(String(2, 140))});
  f.push_back({"voicemailMessage", "voicemail_message", S::kText, true, String(0, 1000)});
  f.push_back({"voicemailDetection", "voicemail_detection", S::kJson, true,
               AnyOf({Enum({"off"}),
                      Object({{"provider", Enum({"google", "openai", "twilio", "vapi"})}},
                             {"provider"})})});
  f.push_back({"backgroundSound", "background_sound", S::kText, true,
               AnyOf({Enum({"off", "office"}), Uri()})});
  {
    Rule metadata = Object({{"is_test", Boolean()}});
    f.push_back({"metadata", "metadata", S::kJson, true, std::move(metadata)});
  }
  f.push_back({"server", "server", S::kJson, true, ServerRule()});
  f.push_back({"clientMessages", "client_messages", S::kJson, true,
               Array(Enum(kClientMessages))});
  f.push_back({"serverMessages", "server_messages", S::kJson, true,
               Array(Enum(kServerMessages))});
  f.push_back({"hooks", "hooks", S::kJson, true, Array(HookRule())});
  f.push_back({"modelOutputInMessagesEnabled", "model_output_in_messages_enabled", S::kBoolean,
               true, Boolean()});
  f.push_back({"transportConfigurations", "transport_configurations", S::kJson, true,
               Array(Object({{"provider", Enum({"twilio"})}}))});
  f.push_back({"observabilityPlan", "observability_plan", S::kJson, true,
               Object({{"provider", Enum({"langfuse"})}})});
  f.push_back({"credentials", "credentials", S::kJson, true, Array(Object())});
  f.push_back({"credentialIds", "credential_ids", S::kJson, true, Array(String(1, 200))});
  f.push_back({"compliancePlan", "compliance_plan", S::kJson, true,
               Object({{"hipaaEnabled", Boolean()},
                       {"pciEnabled", Boolean()},
                       {"securityFilterPlan", Object()},
                       {"recordingConsentPlan", Object()}})});
  f.push_back({"backgroundSpeechDenoisingPlan", "background_speech_denoising_plan", S::kJson,
               true,
               Object({{"smartDenoisingPlan", Object()}, {"fourierDenoisingPlan", Object()}})});
  f.push_back({"analysisPlan", "analysis_plan", S::kJson, true, Object()});
  f.push_back({"artifactPlan", "artifact_plan", S::kJson, true,
               Object({{"recordingFormat", Enum({"wav;l16", "mp3"})},
                       {"recordingEnabled", Boolean()}})});
  f.push_back({"startSpeakingPlan", "start_speaking_plan", S::kJson, true,
               Object({{"waitSeconds", Number(0, 5)}})});
  f.push_back({"stopSpeakingPlan", "stop_speaking_plan", S::kJson, true,
               Object({{"numWords", Number(0, 10)},
                       {"voiceSeconds", Number(0, 0.5)},
                       {"backoffSeconds", Number(0, 10)}})});
  f.push_back({"monitorPlan", "monitor_plan", S::kJson, true, Object()});
  f.push_back({"keypadInputPlan", "keypad_input_plan", S::kJson, true,
               Object({{"timeoutSeconds", Number(0, 10)},
                       {"enabled", Boolean()},
                       {"delimiters", AnyOf({Enum({"#", "*", ""}),
                                             Array(Enum({"#", "*", ""}))})}})});
  // Documented by Vapi's call-timeout page (10–3600 s), but absent from CreateAssistantDto and
  // UpdateAssistantDto in SDK 2.0.1 and in Vapi's OpenAPI document (only TransferAssistant has
  // it; spec §7), and Vapi refuses unknown properties (400 "property … should not exist"). So
  // it is kept locally, like endCallAfterSilence, and never sent.
  f.push_back({"silenceTimeoutSeconds", "silence_timeout_seconds", S::kNumber, false,
               Number(10, 3600)});
  // The seed's legacy flag: kept locally, never sent to Vapi (spec §7).
  f.push_back({"endCallAfterSilence", "end_call_after_silence", S::kBoolean, false, Boolean()});
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
