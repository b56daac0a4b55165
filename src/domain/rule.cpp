#include "domain/rule.hpp"

#include <cmath>

#include "common/json_util.hpp"

namespace assistantd::domain {
namespace {

std::string Join(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += '"' + values[i] + '"';
  }
  return out;
}

std::string FormatBound(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

std::string Child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

const char* KindName(JsonKind kind) {
  switch (kind) {
    case JsonKind::kString: return "a string";
    case JsonKind::kNumber: return "a number";
    case JsonKind::kInteger: return "an integer";
    case JsonKind::kBoolean: return "a boolean";
    case JsonKind::kObject: return "an object";
    case JsonKind::kArray: return "an array";
    case JsonKind::kAny: break;
  }
  return "a value";
}

bool KindMatches(JsonKind kind, const nlohmann::json& v) {
  switch (kind) {
    case JsonKind::kAny: return true;
    case JsonKind::kString: return v.is_string();
    case JsonKind::kNumber: return v.is_number();
    case JsonKind::kInteger:
      return v.is_number_integer() ||
             (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    case JsonKind::kBoolean: return v.is_boolean();
    case JsonKind::kObject: return v.is_object();
    case JsonKind::kArray: return v.is_array();
  }
  return false;
}

// `unit` is empty for numbers, else what is counted ("characters", "items").
void CheckRange(const Rule& rule, double value, const std::string& path, const std::string& unit,
                Violations& out) {
  const std::string suffix = unit.empty() ? "" : " " + unit;
  const bool has_min = rule.min && (unit.empty() || *rule.min > 0);
  if (has_min && rule.max && (value < *rule.min || value > *rule.max)) {
    out.push_back({path, (unit.empty() ? "must be between " : "must have between ") +
                             FormatBound(*rule.min) + " and " + FormatBound(*rule.max) + suffix});
  } else if (rule.min && value < *rule.min) {
    out.push_back({path, (unit.empty() ? "must be at least " : "must have at least ") +
                             FormatBound(*rule.min) + suffix});
  } else if (rule.max && value > *rule.max) {
    out.push_back({path, (unit.empty() ? "must be at most " : "must have at most ") +
                             FormatBound(*rule.max) + suffix});
  }
}

bool IsHttpUrl(const std::string& s) {
  const auto scheme_end = s.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = s.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  if (s.size() == scheme_end + 3) return false;
  for (const char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

void Validate(const Rule& rule, const nlohmann::json& value, const std::string& path,
              Violations& out) {
  if (!rule.any_of.empty()) {
    for (const auto& alternative : rule.any_of) {
      Violations scratch;
      Validate(alternative, value, path, scratch);
      if (scratch.empty()) return;
    }
    // Report against the alternative of the matching JSON type, if exactly one matches.
    const Rule* same_kind = nullptr;
    for (const auto& alternative : rule.any_of) {
      if (alternative.kind != JsonKind::kAny && KindMatches(alternative.kind, value)) {
        same_kind = &alternative;
      }
    }
    if (same_kind && same_kind->one_of.empty()) {
      Validate(*same_kind, value, path, out);
    } else {
      out.push_back({path, "has an unsupported value or type"});
    }
    return;
  }
  if (!KindMatches(rule.kind, value)) {
    if (value.is_null() && rule.kind != JsonKind::kAny) {
      out.push_back({path, std::string("must be ") + KindName(rule.kind) + ", not null"});
    } else {
      out.push_back({path, std::string("must be ") + KindName(rule.kind)});
    }
    return;
  }
  switch (rule.kind) {
    case JsonKind::kString: {
      const auto& s = value.get_ref<const std::string&>();
      if (!rule.one_of.empty()) {
        bool found = false;
        for (const auto& allowed : rule.one_of) found = found || allowed == s;
        if (!found) out.push_back({path, "must be one of " + Join(rule.one_of)});
        return;
      }
      CheckRange(rule, static_cast<double>(Utf8Length(s)), path, "characters", out);
      if (rule.uri && !IsHttpUrl(s)) out.push_back({path, "must be an http(s) URL"});
      break;
    }
    case JsonKind::kNumber:
    case JsonKind::kInteger:
      CheckRange(rule, value.get<double>(), path, "", out);
      break;
    case JsonKind::kArray: {
      CheckRange(rule, static_cast<double>(value.size()), path, "items", out);
      if (rule.items) {
        for (size_t i = 0; i < value.size(); ++i) {
          Validate(*rule.items, value[i], path + "[" + std::to_string(i) + "]", out);
        }
      }
      break;
    }
    case JsonKind::kObject: {
      for (const auto& name : rule.required) {
        if (!value.contains(name)) out.push_back({Child(path, name), "is required"});
      }
      for (const auto& [key, child] : value.items()) {
        const Rule* child_rule = nullptr;
        for (const auto& [name, r] : rule.properties) {
          if (name == key) child_rule = &r;
        }
        if (child_rule) {
          Validate(*child_rule, child, Child(path, key), out);
        } else if (rule.closed) {
          out.push_back({Child(path, key), "is not a known field"});
        }
      }
      break;
    }
    case JsonKind::kBoolean:
    case JsonKind::kAny:
      break;
  }
  if (rule.check) rule.check(value, path, out);
}

Rule String(std::optional<double> min_len, std::optional<double> max_len) {
  Rule r;
  r.kind = JsonKind::kString;
  r.min = min_len;
  r.max = max_len;
  return r;
}

Rule Enum(std::vector<std::string> values) {
  Rule r;
  r.kind = JsonKind::kString;
  r.one_of = std::move(values);
  return r;
}

Rule Number(std::optional<double> min, std::optional<double> max) {
  Rule r;
  r.kind = JsonKind::kNumber;
  r.min = min;
  r.max = max;
  return r;
}

Rule Integer(std::optional<double> min, std::optional<double> max) {
  Rule r = Number(min, max);
  r.kind = JsonKind::kInteger;
  return r;
}

Rule Boolean() {
  Rule r;
  r.kind = JsonKind::kBoolean;
  return r;
}

Rule Uri() {
  Rule r = String(1, 2048);
  r.uri = true;
  return r;
}

Rule Object(std::vector<std::pair<std::string, Rule>> properties,
            std::vector<std::string> required, RuleCheck check) {
  Rule r;
  r.kind = JsonKind::kObject;
  r.properties = std::move(properties);
  r.required = std::move(required);
  r.check = check;
  return r;
}

Rule ClosedObject(std::vector<std::pair<std::string, Rule>> properties,
                  std::vector<std::string> required) {
  Rule r = Object(std::move(properties), std::move(required));
  r.closed = true;
  return r;
}

Rule Array(Rule items, std::optional<double> min_items, std::optional<double> max_items) {
  Rule r;
  r.kind = JsonKind::kArray;
  r.items = std::make_shared<const Rule>(std::move(items));
  r.min = min_items;
  r.max = max_items;
  return r;
}

Rule AnyOf(std::vector<Rule> alternatives) {
  Rule r;
  r.any_of = std::move(alternatives);
  return r;
}

Rule Nullable(Rule rule) {
  Rule null_rule;
  null_rule.kind = JsonKind::kAny;
  null_rule.check = [](const nlohmann::json& v, const std::string& path, Violations& out) {
    if (!v.is_null()) out.push_back({path, "must be null"});
  };
  return AnyOf({std::move(rule), std::move(null_rule)});
}

}  // namespace assistantd::domain
