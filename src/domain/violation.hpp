#pragma once

#include <string>
#include <vector>

namespace assistantd::domain {

// One violated constraint: the dotted path of the offending value and a sentence about it.
struct Violation {
  std::string field;
  std::string message;
};
using Violations = std::vector<Violation>;

}  // namespace assistantd::domain
