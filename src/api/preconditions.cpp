#include "api/preconditions.hpp"

#include "http/conditional.hpp"

namespace assistantd::api {

std::string AssistantEtag(const domain::Assistant& assistant) {
  return http::StrongEtag(http::Response::Json(200, domain::ToWire(assistant)).body);
}

Result<storage::Precondition> IfMatchPrecondition(const http::Request& request, bool required) {
  auto condition = http::CombinedHeader(request, "if-match");
  if (!condition) {
    if (!required) return storage::Precondition();
    return Fail(ErrorCode::kPreconditionRequired, "precondition_required",
                "This server requires If-Match on writes: send the ETag of the assistant's "
                "current representation",
                nlohmann::json::array({{{"field", "If-Match"}, {"message", "is required"}}}));
  }
  return storage::Precondition(
      [condition = std::move(*condition)](const domain::Assistant& current) -> Result<void> {
        const std::string etag = AssistantEtag(current);
        if (http::MatchHolds(condition, etag)) return {};
        auto failed = Fail(
            ErrorCode::kPreconditionFailed, "precondition_failed",
            "The assistant has changed since the ETag in If-Match was issued",
            nlohmann::json::array(
                {{{"field", "If-Match"}, {"message", "does not match the current ETag " + etag}}}));
        failed.value().headers.emplace_back("ETag", etag);
        return failed;
      });
}

}  // namespace assistantd::api
