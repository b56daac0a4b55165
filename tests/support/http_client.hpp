#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace assistantd::testing {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  nlohmann::json Json() const { return nlohmann::json::parse(body); }
  std::string Header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool HasHeader(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
};

// A keep-alive HTTP/1.1 client on 127.0.0.1 for tests (Boost.Beast, synchronous).
class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult Send(const std::string& method, const std::string& target,
                  const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {});

  // Convenience: JSON body with Content-Type and a bearer token (if non-empty).
  HttpResult Call(const std::string& method, const std::string& target, const std::string& token,
                  const std::string& body = "", std::map<std::string, std::string> headers = {});

  // Times the server closed the connection after a response (reconnects transparently).
  int reconnects() const { return reconnects_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int reconnects_ = 0;
};

// Writes raw bytes to a new connection and returns everything read until the server closes
// it (or `max_bytes`).
std::string RawExchange(uint16_t port, const std::string& bytes, size_t max_bytes = 1 << 20);

}  // namespace assistantd::testing
