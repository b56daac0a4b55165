#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assistantd {

// A random (version 4) UUID in lowercase canonical form.
std::string NewUuid();

// The canonical lowercase form of a UUID in 8-4-4-4-12 hex form (either case), or nullopt.
std::optional<std::string> NormalizeUuid(std::string_view text);

}  // namespace assistantd
