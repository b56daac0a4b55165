#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace assistantd::domain {

// Longest password accepted at all, whatever the configured maximum (C10: larger input is
// refused before any hashing work).
inline constexpr size_t kMaxPasswordInputBytes = 4096;
inline constexpr size_t kMaxEmailBytes = 255;
// user_metadata and app_metadata ride in every access token, which must stay within what we
// accept (auth::kMaxTokenBytes, 8 KiB): with the other claims, the longest e-mail and an
// 8192-bit RSA signature, 3 KiB + 1 KiB of metadata leaves room to spare.
inline constexpr size_t kMaxUserMetadataBytes = 3 * 1024;
inline constexpr size_t kMaxAppMetadataBytes = 1024;
enum class Metadata { kUser, kApp };

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

// user_metadata (`data`) or app_metadata: an object (or null: empty) of at most
// kMaxUserMetadataBytes / kMaxAppMetadataBytes as compact JSON.
Result<nlohmann::json> CheckMetadata(const nlohmann::json& value, Metadata kind);

// JSON merge of `patch` into `metadata` at the top level: null removes a key (Supabase's
// updateUser({data}) semantics).
nlohmann::json MergeMetadata(nlohmann::json metadata, const nlohmann::json& patch);

}  // namespace assistantd::domain
