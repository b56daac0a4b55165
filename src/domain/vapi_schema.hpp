#pragma once

#include <string_view>

#include "domain/json_schema.hpp"

namespace assistantd::domain {

// Vapi's published assistant schemas, as scripts/extract-vapi-schema.py extracts them from
// Vapi's OpenAPI document into schema/vapi-assistant.schema.json, compiled into the binary.
std::string_view VapiSchemaDocument();

// The document compiled once (on first use; the build's tests prove it compiles).
const JsonSchema& VapiSchema();

// CreateAssistantDTO: what Vapi accepts as an assistant's fields.
const JsonSchema::Node& VapiAssistantSchema();

// The sha256 of the OpenAPI document the schema was extracted from.
std::string_view VapiSchemaSource();

}  // namespace assistantd::domain
