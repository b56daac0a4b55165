#include "common/json_util.hpp"

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace assistantd {
namespace {

struct Rejection : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What is wrong and where, never what was read: nlohmann's message quotes the input near the
// error ("last read: '...'"), which may be a password.
std::string Describe(const nlohmann::json::parse_error& e) {
  // The message starts with "[json.exception.parse_error.N] ".
  std::string what = e.what();
  if (const auto pos = what.find("] "); pos != std::string::npos) what.erase(0, pos + 2);
  if (const auto pos = what.find("; last read"); pos != std::string::npos) what.erase(pos);
  if (const auto pos = what.find(": syntax error"); pos != std::string::npos) {
    what.erase(0, pos + 2);  // "parse error at line 1, column 9: " repeats the byte offset
  }
  return what + " (at byte " + std::to_string(e.byte) + ")";
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
    return Fail(ErrorCode::kInvalidInput, "invalid_json", "Body is not valid JSON: " + Describe(e));
  } catch (const json::out_of_range&) {
    // A number beyond a double's range (1e400): valid JSON syntax, but no value we can hold.
    return Fail(ErrorCode::kInvalidInput, "invalid_json",
                "Body is not acceptable JSON: a number is out of range");
  }
}

std::string StringOr(const nlohmann::json& object, std::string_view key, std::string fallback) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

bool BoolOr(const nlohmann::json& object, std::string_view key, bool fallback) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  return it != object.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

size_t Utf8Length(std::string_view text) {
  size_t n = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

bool IsPrintableUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n >= text.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace assistantd
