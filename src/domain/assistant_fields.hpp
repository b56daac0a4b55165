#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/json_schema.hpp"

namespace assistantd::domain {

// How a client-owned field is kept in a storage column.
enum class StorageType { kText, kNumber, kBoolean, kJson };

// One client-writable assistant field: its camelCase wire name, snake_case column, storage
// type, and whether it is part of the payload sent to Vapi. Fields sent to Vapi are validated
// with Vapi's schema (vapi_schema.hpp); `rule` is a JSON Schema of what we check beyond it
// (empty: nothing). This table is the only place that knows the assistant's fields.
struct FieldSpec {
  std::string_view wire;
  std::string_view column;
  StorageType storage;
  bool sent_to_vapi;
  std::string_view rule;
};

// Server-owned fields: readable, never writable by clients.
struct ServerFieldSpec {
  std::string_view wire;
  std::string_view column;
};

std::span<const FieldSpec> AssistantFields();
std::span<const ServerFieldSpec> ServerOwnedFields();

const FieldSpec* FindAssistantField(std::string_view wire);
// The compiled `rule` of a field, or nullptr when it has none.
const JsonSchema::Node* LocalRule(std::string_view wire);
bool IsServerOwnedField(std::string_view wire);

}  // namespace assistantd::domain

namespace assistantd::domain {

// What marks a remote copy as ours, in its Vapi `metadata`: our assistant id
// (`assistantdId`) and this installation's id (`assistantdInstance`).
struct RemoteTag {
  std::string assistant_id;
  std::string instance_id;
};

// The body sent to Vapi for an assistant's client fields: only fields marked sent_to_vapi
// (so the legacy endCallAfterSilence never leaves), none of ours, with `metadata` carrying
// the tag so reconciliation can recognise the remote copy.
nlohmann::json VapiPayload(const nlohmann::json& fields, const RemoteTag& tag);

// What an update sends Vapi to remove a field it holds and we no longer do: the default Vapi's
// schema declares for it (setting the default is the same as never having set the field), else
// null, which Vapi's validation lets through for every optional property (class-validator's
// @IsOptional) and which its update stores as "unset".
nlohmann::json VapiClearValue(std::string_view wire);

// The Vapi fields a remote copy holds that `payload` (what VapiPayload sends) does not: top-level
// keys Vapi's CreateAssistantDTO declares, whose remote value is neither null nor the field's clear
// value. Server-owned keys (id, orgId, createdAt, updatedAt, latestVersion) and legacy keys Vapi no
// longer accepts are not fields and never count.
std::vector<std::string> RemoteOnlyFields(const nlohmann::json& payload,
                                          const nlohmann::json& remote);

// The update that clears `names` on Vapi.
nlohmann::json VapiClearPayload(const std::vector<std::string>& names);

// The tag of a remote assistant (empty members when absent).
RemoteTag ReadRemoteTag(const nlohmann::json& remote);

}  // namespace assistantd::domain
