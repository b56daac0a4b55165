#include "support/key_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <vector>

namespace assistantd::testing {

KeyServer::KeyServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0) {
    throw std::runtime_error("KeyServer: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Run(); });
}

KeyServer::~KeyServer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  (void)::write(wake_[1], "x", 1);
  thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::string KeyServer::Url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/auth/v1/.well-known/jwks.json";
}

void KeyServer::Serve(int status, std::string body, std::string cache_control) {
  std::lock_guard lock(mu_);
  status_ = status;
  body_ = std::move(body);
  cache_control_ = std::move(cache_control);
}

void KeyServer::Hang() {
  std::lock_guard lock(mu_);
  hang_ = true;
}

void KeyServer::Release() {
  {
    std::lock_guard lock(mu_);
    hang_ = false;
  }
  cv_.notify_all();
}

void KeyServer::Close() {
  std::lock_guard lock(mu_);
  // The accept loop notices on its next wake-up; shutting the socket down refuses at once.
  ::shutdown(listen_fd_, SHUT_RDWR);
}

int KeyServer::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool KeyServer::WaitForRequests(int n) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return requests_ >= n; });
}

void KeyServer::Run() {
  std::vector<std::thread> handlers;
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) break;
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
      // Closed: wait for the destructor's wake-up.
      pollfd wake = {wake_[0], POLLIN, 0};
      ::poll(&wake, 1, -1);
      break;
    }
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handlers.emplace_back([this, fd] { Answer(fd); });
  }
  for (auto& t : handlers) t.join();
}

void KeyServer::Answer(int fd) {
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  std::unique_lock lock(mu_);
  ++requests_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return !hang_ || stop_; });
  std::string response =
      "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Type: application/json\r\n";
  if (!cache_control_.empty()) response += "Cache-Control: " + cache_control_ + "\r\n";
  response +=
      "Content-Length: " + std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
  lock.unlock();
  for (size_t off = 0; off < response.size();) {
    const ssize_t n = ::write(fd, response.data() + off, response.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace assistantd::testing
