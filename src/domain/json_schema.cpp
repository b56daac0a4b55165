#include "domain/json_schema.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/json_util.hpp"

namespace assistantd::domain {
namespace {

using nlohmann::json;

enum TypeBit : uint8_t {
  kNull = 1,
  kBoolean = 2,
  kInteger = 4,
  kNumber = 8,
  kString = 16,
  kArray = 32,
  kObject = 64,
};

constexpr std::pair<std::string_view, uint8_t> kTypeNames[] = {
    {"null", kNull},     {"boolean", kBoolean}, {"integer", kInteger}, {"number", kNumber},
    {"string", kString}, {"array", kArray},     {"object", kObject}};

// Keywords that only annotate; every other keyword must be one the validator implements.
constexpr std::string_view kAnnotations[] = {"description", "title",    "default",  "deprecated",
                                             "writeOnly",   "readOnly", "$comment", "$schema"};

constexpr size_t kEnumValuesShown = 12;

struct Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
  bool Matches(const std::string& s) const {
    pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
    const int rc =
        pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, data, nullptr);
    pcre2_match_data_free(data);
    return rc >= 0;
  }
};

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string FormatNumber(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

uint8_t TypeOf(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return kNull;
    case json::value_t::boolean:
      return kBoolean;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return kInteger | kNumber;
    case json::value_t::number_float: {
      const double d = v.get<double>();
      return std::floor(d) == d ? kInteger | kNumber : kNumber;
    }
    case json::value_t::string:
      return kString;
    case json::value_t::array:
      return kArray;
    case json::value_t::object:
      return kObject;
    default:
      return 0;
  }
}

std::string TypeList(uint8_t types) {
  std::vector<std::string> names;
  for (const auto& [name, bit] : kTypeNames) {
    if ((types & bit) && !(bit == kInteger && (types & kNumber))) {
      const bool vowel = name == "integer" || name == "array" || name == "object";
      names.push_back((vowel ? "an " : "a ") + std::string(name));
    }
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

std::string EnumList(const std::vector<json>& values) {
  std::string out;
  for (size_t i = 0; i < values.size() && i < kEnumValuesShown; ++i) {
    if (i) out += ", ";
    out += values[i].dump();
  }
  if (values.size() > kEnumValuesShown) {
    out += " (and " + std::to_string(values.size() - kEnumValuesShown) + " more)";
  }
  return out;
}

bool IsUri(const std::string& s) {
  // RFC 3986 absolute URI: scheme ":" hier-part, no whitespace or controls.
  const auto colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    const char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool IsDateTime(const std::string& s) {
  // RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  const auto digits = [&](size_t at, size_t n) {
    if (at + n > s.size()) return false;
    for (size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
  };
  if (!digits(0, 4) || s.size() < 20 || s[4] != '-' || !digits(5, 2) || s[7] != '-' ||
      !digits(8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2) || s[13] != ':' ||
      !digits(14, 2) || s[16] != ':' || !digits(17, 2)) {
    return false;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  return i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && digits(i + 1, 2) && s[i + 3] == ':' &&
         digits(i + 4, 2);
}

}  // namespace

struct JsonSchema::Node {
  uint8_t types = 0;  // 0: any type
  std::optional<json> default_value;
  bool has_enum = false;  // an empty enum matches nothing
  std::vector<json> enum_values;
  std::optional<double> minimum, maximum;
  std::optional<size_t> min_length, max_length, min_items, max_items;
  std::shared_ptr<const Regex> pattern;
  std::string pattern_text;
  std::string format;
  const Node* items = nullptr;
  std::vector<std::pair<std::string, const Node*>> properties;
  std::vector<std::string> required;
  bool additional_allowed = true;
  const Node* additional = nullptr;
  std::vector<const Node*> all_of, any_of, one_of;
  const Node* ref = nullptr;
  std::string ref_name;
  // A union (anyOf/oneOf) whose object branches one property tells apart: the property, each
  // branch's value, and the branch that takes any other value (if one does).
  std::string discriminator;
  std::vector<std::pair<std::string, const Node*>> by_value;
  const Node* other_value = nullptr;
};

struct JsonSchema::Compiler {
  JsonSchema& schema;
  std::vector<std::pair<Node*, std::string>> pending_refs;
  std::vector<Node*> unions;

  Result<Node*> Compile(const json& s, const std::string& where) {
    if (!s.is_object()) return Internal(where + ": a schema must be an object");
    Node& n = schema.nodes_->emplace_back();
    for (const auto& [key, value] : s.items()) {
      const auto r = Keyword(n, key, value, where);
      if (!r) return tl::unexpected(r.error());
    }
    if (!n.any_of.empty() || !n.one_of.empty()) unions.push_back(&n);
    return &n;
  }

  Result<void> Keyword(Node& n, const std::string& key, const json& value,
                       const std::string& where) {
    const auto bad = [&](const std::string& why) {
      return Internal(where + ": keyword \"" + key + "\" " + why);
    };
    if (key == "default") {
      n.default_value = value;
      return {};
    }
    if (std::find(std::begin(kAnnotations), std::end(kAnnotations), key) !=
        std::end(kAnnotations)) {
      return {};
    }
    if (key == "type") {
      const json names = value.is_array() ? value : json::array({value});
      for (const auto& name : names) {
        const auto it = std::find_if(std::begin(kTypeNames), std::end(kTypeNames),
                                     [&](const auto& t) { return name == t.first; });
        if (it == std::end(kTypeNames)) return bad("names an unknown type");
        n.types |= it->second;
      }
    } else if (key == "enum") {
      if (!value.is_array()) return bad("must be an array");
      n.has_enum = true;
      n.enum_values.assign(value.begin(), value.end());
    } else if (key == "minimum" || key == "maximum") {
      if (!value.is_number()) return bad("must be a number");
      (key == "minimum" ? n.minimum : n.maximum) = value.get<double>();
    } else if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return bad("must be a non-negative integer");
      }
      const auto v = value.get<size_t>();
      if (key == "minLength") n.min_length = v;
      if (key == "maxLength") n.max_length = v;
      if (key == "minItems") n.min_items = v;
      if (key == "maxItems") n.max_items = v;
    } else if (key == "pattern") {
      if (!value.is_string()) return bad("must be a string");
      auto regex = std::make_shared<Regex>();
      int error = 0;
      PCRE2_SIZE offset = 0;
      n.pattern_text = value.get<std::string>();
      regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(n.pattern_text.data()),
                                  n.pattern_text.size(), PCRE2_UTF, &error, &offset, nullptr);
      if (!regex->code) return bad("is not a valid regular expression");
      n.pattern = std::move(regex);
    } else if (key == "format") {
      if (value != "uri" && value != "uuid" && value != "date-time") {
        return bad("names a format the validator does not check");
      }
      n.format = value.get<std::string>();
    } else if (key == "items" || key == "additionalProperties") {
      if (value.is_boolean() && key == "additionalProperties") {
        n.additional_allowed = value.get<bool>();
        return {};
      }
      auto child = Compile(value, where + "/" + key);
      if (!child) return tl::unexpected(child.error());
      (key == "items" ? n.items : n.additional) = *child;
    } else if (key == "properties") {
      if (!value.is_object()) return bad("must be an object");
      for (const auto& [name, child_schema] : value.items()) {
        auto child = Compile(child_schema, where + "/properties/" + name);
        if (!child) return tl::unexpected(child.error());
        n.properties.emplace_back(name, *child);
      }
      std::sort(n.properties.begin(), n.properties.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
    } else if (key == "required") {
      if (!value.is_array()) return bad("must be an array");
      for (const auto& name : value) n.required.push_back(name.get<std::string>());
    } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
      if (!value.is_array() || value.empty()) return bad("must be a non-empty array");
      auto& list = key == "allOf" ? n.all_of : key == "anyOf" ? n.any_of : n.one_of;
      for (size_t i = 0; i < value.size(); ++i) {
        auto child = Compile(value[i], where + "/" + key + "/" + std::to_string(i));
        if (!child) return tl::unexpected(child.error());
        list.push_back(*child);
      }
    } else if (key == "$ref") {
      const std::string prefix = "#/definitions/";
      if (!value.is_string() || !value.get<std::string>().starts_with(prefix)) {
        return bad("must point into #/definitions/");
      }
      n.ref_name = value.get<std::string>().substr(prefix.size());
      pending_refs.emplace_back(&n, n.ref_name);
    } else {
      return bad("is not supported");
    }
    return {};
  }

  // The object schema behind a branch (through $ref and single-member allOf).
  static const Node* ObjectBehind(const Node* n) {
    for (int guard = 0; n && guard < 16; ++guard) {
      if (n->ref) {
        n = n->ref;
      } else if (n->all_of.size() == 1 && n->properties.empty()) {
        n = n->all_of.front();
      } else {
        break;
      }
    }
    return n && (n->types & kObject) ? n : nullptr;
  }

  // Finds the property that tells a union's object branches apart: in every object branch it
  // is declared, and all but at most one branch fix it to one string each, all different.
  static void FindDiscriminator(Node& u) {
    const auto& branches = u.one_of.empty() ? u.any_of : u.one_of;
    std::vector<const Node*> objects;
    for (const Node* b : branches) {
      if (const Node* o = ObjectBehind(b)) objects.push_back(o);
    }
    if (objects.size() < 2) return;
    for (const auto& [candidate, unused] : objects.front()->properties) {
      std::vector<std::pair<std::string, const Node*>> by_value;
      const Node* other = nullptr;
      bool usable = true;
      for (const Node* o : objects) {
        const Node* p = Property(*o, candidate);
        if (!p) {
          usable = false;
          break;
        }
        while (p->ref) p = p->ref;
        if (p->enum_values.size() == 1 && p->enum_values.front().is_string()) {
          const auto v = p->enum_values.front().get<std::string>();
          if (std::any_of(by_value.begin(), by_value.end(),
                          [&](const auto& e) { return e.first == v; })) {
            usable = false;
            break;
          }
          by_value.emplace_back(v, o);
        } else if (!other) {
          other = o;
        } else {
          usable = false;
          break;
        }
      }
      if (usable && by_value.size() + 1 >= objects.size()) {
        u.discriminator = candidate;
        u.by_value = std::move(by_value);
        u.other_value = other;
        return;
      }
    }
  }
};

JsonSchema::JsonSchema() : nodes_(std::make_unique<std::deque<Node>>()) {}
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;
JsonSchema::~JsonSchema() = default;

Result<JsonSchema> JsonSchema::Compile(const json& document) {
  if (!document.is_object() || !document.contains("definitions") ||
      !document["definitions"].is_object()) {
    return Internal("a schema document needs an object of definitions");
  }
  JsonSchema schema;
  Compiler compiler{schema, {}, {}};
  std::unordered_map<std::string, const Node*> by_name;
  for (const auto& [name, definition] : document["definitions"].items()) {
    auto node = compiler.Compile(definition, "#/definitions/" + name);
    if (!node) return tl::unexpected(node.error());
    schema.definitions_.emplace_back(name, *node);
    by_name.emplace(name, *node);
  }
  for (auto& [node, name] : compiler.pending_refs) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) return Internal("$ref to an undefined schema: " + name);
    node->ref = it->second;
  }
  for (Node* u : compiler.unions) Compiler::FindDiscriminator(*u);
  std::sort(schema.definitions_.begin(), schema.definitions_.end());
  return schema;
}

const JsonSchema::Node* JsonSchema::Definition(std::string_view name) const {
  const auto it = std::lower_bound(definitions_.begin(), definitions_.end(), name,
                                   [](const auto& d, std::string_view n) { return d.first < n; });
  return it != definitions_.end() && it->first == name ? it->second : nullptr;
}

const JsonSchema::Node* JsonSchema::Property(const Node& object, std::string_view name) {
  const Node* n = Compiler::ObjectBehind(&object);
  if (!n) return nullptr;
  const auto it = std::lower_bound(n->properties.begin(), n->properties.end(), name,
                                   [](const auto& p, std::string_view k) { return p.first < k; });
  return it != n->properties.end() && it->first == name ? it->second : nullptr;
}

const json* JsonSchema::Default(const Node& node) {
  const Node* n = &node;
  for (int guard = 0; n && guard < 16; ++guard) {
    if (n->default_value) return &*n->default_value;
    n = n->ref ? n->ref : n->all_of.size() == 1 ? n->all_of.front() : nullptr;
  }
  return nullptr;
}

std::vector<std::string> JsonSchema::PropertyNames(const Node& object) {
  std::vector<std::string> out;
  if (const Node* n = Compiler::ObjectBehind(&object)) {
    for (const auto& [name, unused] : n->properties) out.push_back(name);
  }
  return out;
}

bool JsonSchema::Accepts(const Node& node, const json& value) {
  Violations scratch;
  Validate(node, value, "", scratch);
  return scratch.empty();
}

void JsonSchema::Validate(const Node& n, const json& value, const std::string& path,
                          Violations& out) {
  if (n.ref) {
    Validate(*n.ref, value, path, out);
    return;
  }
  for (const Node* part : n.all_of) Validate(*part, value, path, out);

  const auto& branches = n.one_of.empty() ? n.any_of : n.one_of;
  if (!branches.empty()) {
    if (!n.discriminator.empty() && value.is_object()) {
      const auto tag = value.find(n.discriminator);
      if (tag == value.end() && !n.other_value) {
        out.push_back({Child(path, n.discriminator), "is required"});
        return;
      }
      const Node* chosen = n.other_value;
      if (tag != value.end()) {
        for (const auto& [v, branch] : n.by_value) {
          if (*tag == v) chosen = branch;
        }
      }
      if (!chosen) {
        std::vector<json> names;
        for (const auto& [v, unused] : n.by_value) names.emplace_back(v);
        out.push_back({Child(path, n.discriminator), "must be one of " + EnumList(names)});
        return;
      }
      Validate(*chosen, value, path, out);
    } else {
      size_t matched = 0;
      for (const Node* b : branches) matched += Accepts(*b, value) ? 1 : 0;
      const bool ok = n.one_of.empty() ? matched >= 1 : matched == 1;
      if (!ok && matched > 1) {
        out.push_back({path, "matches more than one of the allowed shapes"});
      } else if (!ok) {
        // Report against the one branch of the value's JSON type, when only one has it.
        const Node* same_type = nullptr;
        size_t typed = 0;
        std::vector<json> allowed_values;
        for (const Node* b : branches) {
          const Node* r = b;
          while (r->ref) r = r->ref;
          if (r->types & TypeOf(value)) {
            same_type = b;
            ++typed;
            allowed_values.insert(allowed_values.end(), r->enum_values.begin(),
                                  r->enum_values.end());
          }
        }
        if (typed == 1) {
          Validate(*same_type, value, path, out);
        } else if (value.is_string() && !allowed_values.empty() && typed > 1) {
          const bool url = std::any_of(branches.begin(), branches.end(),
                                       [](const Node* b) { return b->format == "uri"; });
          out.push_back({path, "must be one of " + EnumList(allowed_values) +
                                   (url ? " or a URL" : " or another allowed form")});
        } else {
          out.push_back({path, "has an unsupported value or type"});
        }
      }
    }
  }

  const uint8_t actual = TypeOf(value);
  if (n.types && !(n.types & actual)) {
    out.push_back({path, "must be " + TypeList(n.types) + (value.is_null() ? ", not null" : "")});
    return;
  }
  if (n.has_enum && n.enum_values.empty()) {
    out.push_back({path, "has no allowed value here"});
    return;
  }
  if (!n.enum_values.empty() &&
      std::find(n.enum_values.begin(), n.enum_values.end(), value) == n.enum_values.end()) {
    out.push_back({path, "must be one of " + EnumList(n.enum_values)});
    return;
  }
  if (value.is_number()) {
    const double v = value.get<double>();
    if (n.minimum && n.maximum && (v < *n.minimum || v > *n.maximum)) {
      out.push_back({path, "must be between " + FormatNumber(*n.minimum) + " and " +
                               FormatNumber(*n.maximum)});
    } else if (n.minimum && v < *n.minimum) {
      out.push_back({path, "must be at least " + FormatNumber(*n.minimum)});
    } else if (n.maximum && v > *n.maximum) {
      out.push_back({path, "must be at most " + FormatNumber(*n.maximum)});
    }
  } else if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    const size_t length = Utf8Length(s);
    if (n.min_length && n.max_length && (length < *n.min_length || length > *n.max_length)) {
      out.push_back({path, "must have between " + std::to_string(*n.min_length) + " and " +
                               std::to_string(*n.max_length) + " characters"});
    } else if (n.min_length && length < *n.min_length) {
      out.push_back({path, "must have at least " + std::to_string(*n.min_length) + " characters"});
    } else if (n.max_length && length > *n.max_length) {
      out.push_back({path, "must have at most " + std::to_string(*n.max_length) + " characters"});
    }
    if (n.pattern && !n.pattern->Matches(s)) {
      out.push_back({path, "must match the pattern " + n.pattern_text});
    }
    if ((n.format == "uri" && !IsUri(s)) || (n.format == "uuid" && !IsUuid(s)) ||
        (n.format == "date-time" && !IsDateTime(s))) {
      out.push_back({path, "must be a valid " + n.format});
    }
  } else if (value.is_array()) {
    if (n.min_items && value.size() < *n.min_items) {
      out.push_back({path, "must have at least " + std::to_string(*n.min_items) + " items"});
    }
    if (n.max_items && value.size() > *n.max_items) {
      out.push_back({path, "must have at most " + std::to_string(*n.max_items) + " items"});
    }
    if (n.items) {
      for (size_t i = 0; i < value.size(); ++i) {
        Validate(*n.items, value[i], path + "[" + std::to_string(i) + "]", out);
      }
    }
  } else if (value.is_object()) {
    for (const auto& name : n.required) {
      if (!value.contains(name)) out.push_back({Child(path, name), "is required"});
    }
    for (const auto& [key, child] : value.items()) {
      const auto it =
          std::lower_bound(n.properties.begin(), n.properties.end(), key,
                           [](const auto& p, const std::string& k) { return p.first < k; });
      if (it != n.properties.end() && it->first == key) {
        Validate(*it->second, child, Child(path, key), out);
      } else if (n.additional) {
        Validate(*n.additional, child, Child(path, key), out);
      } else if (!n.additional_allowed) {
        out.push_back({Child(path, key), "is not a known field"});
      }
    }
  }
}

}  // namespace assistantd::domain
