// docs/openapi.yaml must describe exactly the fields of the field table.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "domain/assistant_fields.hpp"

namespace assistantd::domain {
namespace {

// Property names directly under components.schemas.AssistantFields.properties.
std::set<std::string> DocumentedFields() {
  std::ifstream in(OPENAPI_PATH);
  std::string line;
  bool in_schema = false;
  bool in_properties = false;
  std::set<std::string> out;
  while (std::getline(in, line)) {
    if (line == "    AssistantFields:") {
      in_schema = true;
      continue;
    }
    if (!in_schema) continue;
    if (line.rfind("      properties:", 0) == 0) {
      in_properties = true;
      continue;
    }
    if (!in_properties) continue;
    if (line.size() > 8 && line.compare(0, 8, "        ") == 0 && line[8] == '#') continue;
    if (line.size() > 8 && line.compare(0, 8, "        ") == 0 && line[8] != ' ') {
      out.insert(line.substr(8, line.find(':') - 8));
    } else if (line.size() < 8 || line.compare(0, 8, "        ") != 0) {
      break;  // left the properties block
    }
  }
  return out;
}

TEST(OpenApiTest, AssistantFieldsMatchTheFieldTable) {
  const auto documented = DocumentedFields();
  std::set<std::string> table;
  for (const auto& f : AssistantFields()) table.insert(std::string(f.wire));
  EXPECT_EQ(documented, table);
}

}  // namespace
}  // namespace assistantd::domain
