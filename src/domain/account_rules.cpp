#include "domain/account_rules.hpp"

#include <algorithm>
#include <cctype>

#include "common/json_util.hpp"

namespace assistantd::domain {
namespace {

tl::unexpected<Error> Invalid(std::string field, std::string message) {
  return Fail(ErrorCode::kInvalidInput, "validation_failed", message,
              nlohmann::json::array({{{"field", std::move(field)}, {"message", message}}}));
}

bool ValidLocalChar(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+/=?^_`{|}~.-").find(static_cast<char>(c)) !=
                                std::string_view::npos;
}

}  // namespace

Result<std::string> NormalizeEmail(const nlohmann::json& value) {
  if (!value.is_string()) return Invalid("email", "An email address is required");
  std::string email = value.get<std::string>();
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) email.pop_back();
  const auto first =
      std::find_if(email.begin(), email.end(), [](unsigned char c) { return !std::isspace(c); });
  email.erase(email.begin(), first);
  if (email.empty()) return Invalid("email", "An email address is required");
  if (email.size() > kMaxEmailBytes) return Invalid("email", "The email address is too long");
  std::transform(email.begin(), email.end(), email.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto at = email.find('@');
  const bool one_at = at != std::string::npos && email.find('@', at + 1) == std::string::npos;
  bool ok = one_at && at > 0 && at + 1 < email.size();
  if (ok) {
    const std::string_view local(email.data(), at);
    const std::string_view domain(email.data() + at + 1, email.size() - at - 1);
    ok = std::all_of(local.begin(), local.end(), ValidLocalChar) && local.front() != '.' &&
         local.back() != '.' && domain.find('.') != std::string_view::npos &&
         domain.front() != '.' && domain.back() != '.' &&
         domain.find("..") == std::string_view::npos &&
         std::all_of(domain.begin(), domain.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; }) &&
         domain.front() != '-' && domain.back() != '-' &&
         domain.find(".-") == std::string_view::npos && domain.find("-.") == std::string_view::npos;
  }
  if (!ok) return Invalid("email", "Unable to validate email address: invalid format");
  return email;
}

Result<std::string> CheckPassword(const nlohmann::json& value, const PasswordPolicy& policy) {
  if (!value.is_string()) return Invalid("password", "A password is required");
  const auto& password = value.get_ref<const std::string&>();
  if (password.empty()) return Invalid("password", "A password is required");
  if (password.size() > kMaxPasswordInputBytes || password.size() > policy.max_length) {
    return Invalid("password",
                   "The password is longer than " +
                       std::to_string(std::min(policy.max_length, kMaxPasswordInputBytes)) +
                       " bytes");
  }
  if (Utf8Length(password) < policy.min_length) {
    const std::string message =
        "Password should be at least " + std::to_string(policy.min_length) + " characters.";
    return Fail(ErrorCode::kUnprocessable, "weak_password", message,
                nlohmann::json::array(
                    {{{"reasons", nlohmann::json::array({"length"})}, {"message", message}}}));
  }
  return password;
}

Result<nlohmann::json> CheckMetadata(const nlohmann::json& value, Metadata kind) {
  const std::string name = kind == Metadata::kUser ? "data" : "app_metadata";
  const size_t max = kind == Metadata::kUser ? kMaxUserMetadataBytes : kMaxAppMetadataBytes;
  if (value.is_null()) return nlohmann::json::object();
  if (!value.is_object()) return Invalid(name, name + " must be a JSON object");
  if (value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size() > max) {
    return Invalid(name, name + " is larger than " + std::to_string(max) + " bytes");
  }
  return value;
}

nlohmann::json MergeMetadata(nlohmann::json metadata, const nlohmann::json& patch) {
  if (!metadata.is_object()) metadata = nlohmann::json::object();
  for (const auto& [k, v] : patch.items()) {
    if (v.is_null()) {
      metadata.erase(k);
    } else {
      metadata[k] = v;
    }
  }
  return metadata;
}

}  // namespace assistantd::domain
