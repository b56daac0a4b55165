#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace assistantd::domain {

// One violated constraint: the dotted path of the offending value and a sentence about it.
struct Violation {
  std::string field;
  std::string message;
};
using Violations = std::vector<Violation>;

enum class JsonKind { kAny, kString, kNumber, kInteger, kBoolean, kObject, kArray };

struct Rule;
// Extra checks that do not fit the declarative parts (provider-specific requirements).
using RuleCheck = void (*)(const nlohmann::json& value, const std::string& path, Violations& out);

// A declarative constraint on a JSON value, the single source of assistant validation.
struct Rule {
  JsonKind kind = JsonKind::kAny;
  std::optional<double> min;  // number: value; string: length in code points; array: items
  std::optional<double> max;
  std::vector<std::string> one_of;  // allowed string values
  bool uri = false;                 // string must be an absolute http(s) URL
  std::shared_ptr<const Rule> items;
  std::vector<std::pair<std::string, Rule>> properties;  // checked when present
  std::vector<std::string> required;
  bool closed = false;        // unknown properties are violations
  std::vector<Rule> any_of;  // value must satisfy at least one alternative
  RuleCheck check = nullptr;
};

// Appends the violations of `value` against `rule` at `path`.
void Validate(const Rule& rule, const nlohmann::json& value, const std::string& path,
              Violations& out);

// Builders that keep the field table readable.
Rule String(std::optional<double> min_len = std::nullopt,
            std::optional<double> max_len = std::nullopt);
Rule Enum(std::vector<std::string> values);
Rule Number(std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
Rule Integer(std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
Rule Boolean();
Rule Uri();
Rule Object(std::vector<std::pair<std::string, Rule>> properties = {},
            std::vector<std::string> required = {}, RuleCheck check = nullptr);
Rule ClosedObject(std::vector<std::pair<std::string, Rule>> properties,
                  std::vector<std::string> required = {});
Rule Array(Rule items, std::optional<double> min_items = std::nullopt,
           std::optional<double> max_items = std::nullopt);
Rule AnyOf(std::vector<Rule> alternatives);
Rule Nullable(Rule rule);

}  // namespace assistantd::domain
