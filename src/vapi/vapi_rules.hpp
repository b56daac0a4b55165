#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vapi/vapi_client.hpp"

namespace assistantd::vapi {

inline constexpr const char* kDefaultBaseUrl = "https://api.vapi.ai";

// The base URL our paths are appended to: trailing slashes dropped, and a trailing "/v1"
// segment removed, since Vapi's paths have no version prefix (the seed's
// "Cannot POST /v1/assistants" bug). Other path prefixes are kept.
std::string NormalizeBaseUrl(std::string_view base_url);

// Classification of an HTTP answer that is not 2xx.
FailureKind ClassifyStatus(int status);

// Retry-After as seconds from now: delta-seconds or an HTTP-date. nullopt if absent/invalid.
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_seconds);

// A short human-readable reason for a failed answer, from Vapi's error body when it has one
// ("message" string or array). Bounded in length; never includes request data.
std::string FailureReason(int status, std::string_view body);

// The fields a Vapi 400 body's class-validator sentences name ("property foo should not exist",
// "voice.property foo should not exist", "name must be shorter than…"), each once; labels come
// from a closed set (our field names and "other"), so the metric counting them stays bounded.
std::vector<RejectedField> RejectedFields(std::string_view body);

}  // namespace assistantd::vapi
