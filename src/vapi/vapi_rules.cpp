#include "vapi/vapi_rules.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "domain/assistant_fields.hpp"

namespace assistantd::vapi {

std::string NormalizeBaseUrl(std::string_view base_url) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

FailureKind ClassifyStatus(int status) {
  if (status == 408 || status == 429 || status >= 500) return FailureKind::kTransient;
  return FailureKind::kPermanent;
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_seconds) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r' || value.back() == '\n')) {
    value.remove_suffix(1);
  }
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    return seconds >= 0 ? std::optional<int64_t>(seconds) : std::nullopt;
  }
  const std::string text(value);
  const time_t at = curl_getdate(text.c_str(), nullptr);
  if (at < 0) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(at) - now_seconds);
}

std::string FailureReason(int status, std::string_view body) {
  std::string reason = "Vapi answered " + std::to_string(status);
  const auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("message")) {
    const auto& m = parsed["message"];
    std::string text;
    if (m.is_string()) {
      text = m.get<std::string>();
    } else if (m.is_array()) {
      for (const auto& part : m) {
        if (!part.is_string()) continue;
        text += (text.empty() ? "" : "; ") + part.get<std::string>();
      }
    }
    if (!text.empty()) reason += ": " + text;
  }
  if (reason.size() > 500) reason = reason.substr(0, 497) + "...";
  return reason;
}

std::vector<RejectedField> RejectedFields(std::string_view body) {
  std::vector<RejectedField> out;
  const auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("message")) return out;
  const auto& m = parsed["message"];
  const nlohmann::json sentences = m.is_array() ? m : nlohmann::json::array({m});
  for (const auto& sentence : sentences) {
    if (!sentence.is_string()) continue;
    const auto& text = sentence.get_ref<const std::string&>();
    static constexpr std::string_view kProperty = "property ";
    static constexpr std::string_view kNotExist = " should not exist";
    std::string path;
    std::string kind = "invalid";
    const auto at = text.find(kProperty);
    if (at != std::string::npos && text.ends_with(kNotExist)) {
      // "[prefix.]property name should not exist": the field is the prefix's first segment,
      // or the name itself at the top level.
      kind = "unknown";
      path = at == 0
                 ? text.substr(kProperty.size(), text.size() - kProperty.size() - kNotExist.size())
                 : text.substr(0, at);
    } else {
      path = text.substr(0, text.find(' '));
    }
    const std::string top = path.substr(0, path.find_first_of(".["));
    const auto* spec = domain::FindAssistantField(top);
    RejectedField field{spec ? std::string(spec->wire) : "other", kind};
    const bool seen = std::any_of(out.begin(), out.end(), [&](const RejectedField& r) {
      return r.field == field.field && r.kind == field.kind;
    });
    if (!seen) out.push_back(std::move(field));
  }
  return out;
}

}  // namespace assistantd::vapi
