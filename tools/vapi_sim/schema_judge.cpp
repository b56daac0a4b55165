#include "vapi_sim/schema_judge.hpp"

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <cmath>
#include <set>
#include <stdexcept>

namespace assistantd::vapisim {
namespace {

using nlohmann::json;

// JavaScript has one number type: 5.0 is the integer 5 to Vapi's validators.
json WholeNumbersAsIntegers(const json& v) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::abs(d) < 9.0e15) return static_cast<int64_t>(d);
    return v;
  }
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, child] : v.items()) out[k] = WholeNumbersAsIntegers(child);
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& child : v) out.push_back(WholeNumbersAsIntegers(child));
    return out;
  }
  return v;
}

// "/model/tools/0/type" -> "model.tools[0].type"
std::string DottedPath(const std::string& pointer) {
  std::string out;
  size_t start = 1;
  while (start <= pointer.size() && !pointer.empty()) {
    size_t end = pointer.find('/', start);
    if (end == std::string::npos) end = pointer.size();
    const std::string token = pointer.substr(start, end - start);
    const bool index = !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
    if (index) {
      out += "[" + token + "]";
    } else {
      out += (out.empty() ? "" : ".") + token;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

struct SchemaJudge::Dto {
  rapidjson::Document document;
  std::unique_ptr<rapidjson::SchemaDocument> schema;
  std::set<std::string> properties;
};

SchemaJudge::SchemaJudge(std::string_view schema_document)
    : create_(Load(schema_document, "CreateAssistantDTO")),
      update_(Load(schema_document, "UpdateAssistantDTO")) {}

SchemaJudge::~SchemaJudge() = default;

std::unique_ptr<SchemaJudge::Dto> SchemaJudge::Load(std::string_view text, const char* name) {
  auto dto = std::make_unique<SchemaJudge::Dto>();
  dto->document.Parse(text.data(), text.size());
  if (dto->document.HasParseError() || !dto->document.IsObject()) {
    throw std::runtime_error("the Vapi schema document is not JSON");
  }
  auto& defs = dto->document["definitions"];
  if (!defs.HasMember(name)) throw std::runtime_error(std::string("no ") + name);
  for (const auto& p : defs[name]["properties"].GetObject()) {
    dto->properties.insert(p.name.GetString());
  }
  // The root validates as the DTO; every $ref points into the same document.
  auto& alloc = dto->document.GetAllocator();
  dto->document.AddMember(
      "$ref", rapidjson::Value(("#/definitions/" + std::string(name)).c_str(), alloc), alloc);
  dto->schema = std::make_unique<rapidjson::SchemaDocument>(dto->document);
  return dto;
}

std::vector<std::string> SchemaJudge::Judge(const json& body, bool update) const {
  const Dto& dto = update ? *update_ : *create_;
  std::vector<std::string> out;
  json present = json::object();
  for (const auto& [key, value] : body.items()) {
    if (!dto.properties.contains(key)) {
      out.push_back("property " + key + " should not exist");
    } else if (!value.is_null()) {
      present[key] = value;
    }
  }
  rapidjson::Document d;
  const std::string text = WholeNumbersAsIntegers(present).dump();
  d.Parse(text.data(), text.size());
  rapidjson::SchemaValidator validator(*dto.schema);
  if (d.Accept(validator)) return out;
  rapidjson::StringBuffer where;
  validator.GetInvalidDocumentPointer().Stringify(where);
  const std::string path = DottedPath(where.GetString());
  out.push_back((path.empty() ? "body" : path) + " does not satisfy the \"" +
                validator.GetInvalidSchemaKeyword() + "\" constraint");
  return out;
}

}  // namespace assistantd::vapisim
