#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

// JSON kept as text columns (user metadata, preferences, audit before/after), read and written
// the same way by every backend.
namespace assistantd::storage {

// A JSON object column; anything else (never written by us) reads as {}.
inline nlohmann::json JsonObjectColumn(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// A nullable JSON column: NULL is null; text that is not JSON (never written by us) is kept as
// a string, so an audit entry edited by hand still reads, and fails verification.
inline nlohmann::json NullableJsonColumn(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  return j.is_discarded() ? nlohmann::json(*text) : j;
}

// What NullableJsonColumn reads back: NULL for null, else the compact dump.
inline std::optional<std::string> NullableJsonText(const nlohmann::json& j) {
  return j.is_null() ? std::nullopt : std::optional<std::string>(j.dump());
}

}  // namespace assistantd::storage
