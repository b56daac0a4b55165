#pragma once

#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "domain/violation.hpp"

namespace assistantd::domain {

// A compiled JSON Schema: the draft-07 subset that Vapi's published assistant schemas use
// (type, enum, numeric and length bounds, pattern, format, items, properties, required,
// additionalProperties, allOf/anyOf/oneOf, local $ref). Compilation refuses any other keyword,
// so a newer schema using one cannot be checked half-way without anyone noticing.
//
// Violations carry the dotted JSON path of the offending value (`voice.voiceId`,
// `model.tools[0].type`). A union whose branches are told apart by one property (`provider`,
// `type`, `on`) reports against the branch that property selects, as Vapi does.
class JsonSchema {
 public:
  struct Node;

  // Compiles every schema under the document's `definitions`.
  static Result<JsonSchema> Compile(const nlohmann::json& document);

  // The named definition, or nullptr.
  const Node* Definition(std::string_view name) const;
  // The schema of an object schema's property (through $ref and allOf), or nullptr.
  static const Node* Property(const Node& object, std::string_view name);
  // The schema's `default` annotation (through $ref and allOf), or nullptr.
  static const nlohmann::json* Default(const Node& node);
  // The property names an object schema declares.
  static std::vector<std::string> PropertyNames(const Node& object);

  // Appends the violations of `value` against `node` at `path`.
  static void Validate(const Node& node, const nlohmann::json& value, const std::string& path,
                       Violations& out);
  static bool Accepts(const Node& node, const nlohmann::json& value);

  JsonSchema(JsonSchema&&) noexcept;
  JsonSchema& operator=(JsonSchema&&) noexcept;
  ~JsonSchema();

 private:
  JsonSchema();
  struct Compiler;
  std::unique_ptr<std::deque<Node>> nodes_;  // stable addresses; nodes point at each other
  std::vector<std::pair<std::string, const Node*>> definitions_;
};

}  // namespace assistantd::domain
