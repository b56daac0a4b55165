#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace assistantd::testing {

// A scripted HTTP server on 127.0.0.1:0 standing in for a Supabase project's JWKS endpoint:
// it answers every GET with the current status, body and Cache-Control, can hold requests
// unanswered (a slow source) and can stop listening (a source that is down). Counts requests.
class KeyServer {
 public:
  KeyServer();
  ~KeyServer();
  KeyServer(const KeyServer&) = delete;
  KeyServer& operator=(const KeyServer&) = delete;

  uint16_t port() const { return port_; }
  std::string Url() const;

  void Serve(int status, std::string body, std::string cache_control = "");
  // Requests from now on get no answer until Release() (or destruction).
  void Hang();
  void Release();
  // Stops listening: connections are refused from now on.
  void Close();
  int Requests() const;
  // Waits (woken by arriving requests, at most 30 s) until at least `n` have arrived.
  bool WaitForRequests(int n) const;

 private:
  void Run();
  void Answer(int fd);

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  int status_ = 200;
  std::string body_ = "{}";
  std::string cache_control_;
  bool hang_ = false;
  bool stop_ = false;
  int requests_ = 0;
  std::thread thread_;
};

}  // namespace assistantd::testing
