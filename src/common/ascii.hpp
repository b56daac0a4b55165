#pragma once

#include <string>
#include <string_view>

namespace assistantd {

// `text` with ASCII letters lower-cased (HTTP header names, schemes, media types).
inline std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace assistantd
