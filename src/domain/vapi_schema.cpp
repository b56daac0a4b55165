#include "domain/vapi_schema.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace assistantd::domain {
namespace {

struct Compiled {
  JsonSchema schema;
  const JsonSchema::Node* assistant;
  std::string source;
};

[[noreturn]] void Broken(const std::string& why) {
  // The document is part of the build, so this is a build defect, never input.
  std::fprintf(stderr, "assistantd: the compiled-in Vapi schema is unusable: %s\n", why.c_str());
  std::abort();
}

const Compiled& Get() {
  static const Compiled compiled = [] {
    const auto document = nlohmann::json::parse(VapiSchemaDocument(), nullptr, false);
    if (document.is_discarded()) Broken("not JSON");
    auto schema = JsonSchema::Compile(document);
    if (!schema) Broken(schema.error().internal);
    const JsonSchema::Node* assistant = schema->Definition("CreateAssistantDTO");
    if (!assistant) Broken("no CreateAssistantDTO");
    std::string source = document.value("/x-vapi-source/sha256"_json_pointer, std::string());
    return Compiled{std::move(*schema), assistant, std::move(source)};
  }();
  return compiled;
}

}  // namespace

const JsonSchema& VapiSchema() { return Get().schema; }

const JsonSchema::Node& VapiAssistantSchema() { return *Get().assistant; }

std::string_view VapiSchemaSource() { return Get().source; }

}  // namespace assistantd::domain
