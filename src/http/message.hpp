#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace assistantd::http {

// Transport-neutral request: handlers never see Beast types.
struct Request {
  std::string method;
  std::string target;                                        // as received: path and query
  std::string path;                                          // target up to '?'
  std::string query;                                         // after '?', still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote_ip;

  // First header with this lower-case name.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

// How the server ends an exchange. Production handlers always respond; the other two exist
// for vapi-sim's fault injection (a peer that never answers, a peer that resets).
enum class Disposition { kRespond, kHang, kReset };

struct Response {
  Disposition disposition = Disposition::kRespond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void SetHeader(std::string name, std::string value);
  std::optional<std::string_view> Header(std::string_view name) const;

  static Response Json(int status, const nlohmann::json& body);
  static Response Empty(int status);
};

// The client's address: the TCP peer, unless the peer is one of `trusted_proxies` — then the
// nearest X-Forwarded-For entry (from the right) that is not itself a trusted proxy. A
// malformed header is ignored (the peer is used), so a client cannot spoof its way past a proxy
// that appends the real address.
std::string ClientIp(std::string_view peer, std::optional<std::string_view> forwarded_for,
                     const std::vector<std::string>& trusted_proxies);

// Decoded query parameters in order. Fails on malformed percent-encoding.
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

}  // namespace assistantd::http
