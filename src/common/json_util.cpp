#include "common/json_util.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace assistantd {
namespace {

struct Rejection : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string Describe(const nlohmann::json::parse_error& e) {
  // nlohmann's message starts with "[json.exception.parse_error.N] "; keep the human part.
  std::string what = e.what();
  if (const auto pos = what.find("] "); pos != std::string::npos) what.erase(0, pos + 2);
  return what;
}

}  // namespace

Result<nlohmann::json> ParseJsonStrict(std::string_view text, int max_depth) {
  using nlohmann::json;
  std::vector<std::set<std::string>> keys;  // one set per open object
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= max_depth) {
          throw Rejection("nesting deeper than " + std::to_string(max_depth) + " levels");
        }
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second) {
          throw Rejection("duplicate key \"" + parsed.get<std::string>() + "\"");
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const Rejection& e) {
    return Fail(ErrorCode::kInvalidInput, "invalid_json",
                std::string("Body is not acceptable JSON: ") + e.what());
  } catch (const json::parse_error& e) {
    return Fail(ErrorCode::kInvalidInput, "invalid_json",
                "Body is not valid JSON: " + Describe(e));
  }
}

size_t Utf8Length(std::string_view text) {
  size_t n = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

}  // namespace assistantd
