#include "support/http_client.hpp"

#include <stdexcept>

#include "http/beast.hpp"

namespace assistantd::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  uint16_t port;
  asio::io_context ioc;
  std::optional<tcp::socket> socket;
  beast::flat_buffer buffer;

  void Connect() {
    socket.emplace(ioc);
    socket->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    buffer.clear();
  }
};

HttpClient::HttpClient(uint16_t port) : impl_(std::make_unique<Impl>()) { impl_->port = port; }
HttpClient::~HttpClient() = default;

HttpResult HttpClient::Send(const std::string& method, const std::string& target,
                            const std::string& body,
                            const std::map<std::string, std::string>& headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    req.prepare_payload();
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->socket || !impl_->socket->is_open()) impl_->Connect();
    beast::error_code ec;
    bhttp::write(*impl_->socket, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (!ec) bhttp::read(*impl_->socket, impl_->buffer, parser, ec);
    if (ec) {
      // The server closed an idle keep-alive connection: retry once on a new one.
      impl_->socket.reset();
      ++reconnects_;
      if (attempt == 0) continue;
      throw std::runtime_error("HTTP exchange failed: " + ec.message());
    }
    auto res = parser.release();
    HttpResult out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) impl_->socket.reset();
    return out;
  }
  throw std::runtime_error("unreachable");
}

HttpResult HttpClient::Call(const std::string& method, const std::string& target,
                            const std::string& token, const std::string& body,
                            std::map<std::string, std::string> headers) {
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  if (!body.empty()) headers.emplace("Content-Type", "application/json");
  return Send(method, target, body, headers);
}

std::string RawExchange(uint16_t port, const std::string& bytes, size_t max_bytes) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  beast::error_code ec;
  asio::write(socket, asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  while (out.size() < max_bytes) {
    const size_t n = socket.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

}  // namespace assistantd::testing
