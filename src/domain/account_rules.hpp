#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace assistantd::domain {

// Longest password accepted at all, whatever the configured maximum (C10: larger input is
// refused before any hashing work).
inline constexpr size_t kMaxPasswordInputBytes = 4096;
inline constexpr size_t kMaxEmailBytes = 255;
inline constexpr size_t kMaxUserMetadataBytes = 16 * 1024;

struct PasswordPolicy {
  size_t min_length = 8;   // characters (UTF-8 code points)
  size_t max_length = 72;  // bytes, as GoTrue counts
};

// The e-mail lower-cased and trimmed, or a validation error (400 validation_failed).
Result<std::string> NormalizeEmail(const nlohmann::json& value);

// A password that meets the policy, or: 400 validation_failed when missing, not a string,
// over the maximum or over kMaxPasswordInputBytes; 422 weak_password (details: {"reasons":
// ["length"]}) when shorter than the minimum.
Result<std::string> CheckPassword(const nlohmann::json& value, const PasswordPolicy& policy);

// user_metadata / data: an object (or null: empty) of bounded size.
Result<nlohmann::json> CheckUserMetadata(const nlohmann::json& value);

// JSON merge of `patch` into `metadata` at the top level: null removes a key (Supabase's
// updateUser({data}) semantics).
nlohmann::json MergeMetadata(nlohmann::json metadata, const nlohmann::json& patch);

}  // namespace assistantd::domain
