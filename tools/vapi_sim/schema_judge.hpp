#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace assistantd::vapisim {

// Judges assistant bodies as Vapi does, with Vapi's published schema (the document
// scripts/extract-vapi-schema.py extracts) and RapidJSON's JSON Schema validator: a code path
// independent of the service's own validator, so a mistake in one shows against the other.
//
// Class-validator's rules that a schema cannot say are applied first: a top-level key the DTO
// does not declare is "property X should not exist", and a top-level null passes (@IsOptional;
// the update then clears that field). The schema then judges the rest; RapidJSON reports the
// first violation it finds, as a sentence naming the dotted path and the failed keyword.
class SchemaJudge {
 public:
  explicit SchemaJudge(std::string_view schema_document);
  ~SchemaJudge();

  // Sentences for every violation of a create (UpdateAssistantDTO when `update`); empty when
  // Vapi would accept the body.
  std::vector<std::string> Judge(const nlohmann::json& body, bool update) const;

 private:
  struct Dto;
  static std::unique_ptr<Dto> Load(std::string_view document, const char* name);
  std::unique_ptr<Dto> create_, update_;
};

}  // namespace assistantd::vapisim
