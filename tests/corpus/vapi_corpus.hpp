#pragma once

#include <fstream>
#include <nlohmann/json.hpp>

namespace assistantd::testing {

// tests/corpus/vapi_assistants.json (at CORPUS_PATH, set by the build), read once:
// {"valid": [{"label", "assistant"}], "invalid": [{"label", "field", "assistant"}]}.
inline const nlohmann::json& VapiCorpus() {
  static const nlohmann::json corpus = [] {
    std::ifstream in(CORPUS_PATH);
    return nlohmann::json::parse(in);
  }();
  return corpus;
}

}  // namespace assistantd::testing
