#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "http/message.hpp"

namespace assistantd::http {

struct ServerSettings {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port
  int io_threads = 1;
  int worker_threads = 4;  // run handlers (which may block on the database)
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  std::chrono::seconds idle_timeout{60};  // waiting for / reading a request's header
  std::chrono::seconds read_timeout{30};  // reading a request's body
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds shutdown_timeout{10};
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-For is believed
  // GET paths that never queue behind the handlers: `inline_paths` are answered on the I/O
  // thread (their handlers must not block: liveness), `priority_paths` on a thread of their
  // own (readiness, which may touch the database).
  std::vector<std::string> inline_paths;
  std::vector<std::string> priority_paths;
  // Connections open at once, in all and from one client address (trusted proxies exempt);
  // a connection over either is answered 503 and closed. 0: no limit.
  size_t max_connections = 0;
  size_t max_connections_per_ip = 0;
  MetricsRegistry* metrics = nullptr;  // connection gauges and refusals, when given
  // When set, requests (but inline_paths) start here, on the I/O thread that read them, with
  // `offload` to move the rest of their work to the handler pool: a handler that can answer
  // from memory saves two thread hand-overs, one that would block offloads (Pipeline::
  // HandleInline). Not set: every request is handled on the pool.
  std::function<void(Request, std::function<void(Response)>,
                     std::function<void(std::function<void()>)>)>
      inline_first;
};

// Answers a request by calling its second argument once, from any thread.
using RequestHandler = std::function<void(Request, std::function<void(Response)>)>;
// A handler that answers before it returns.
using SyncRequestHandler = std::function<Response(const Request&)>;

// The threads handlers run on; asynchronous handlers hand their completions back to it too.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  void Post(std::function<void()> task);
  // Runs what is queued, then stops the threads; later tasks are dropped.
  void Join();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// HTTP/1.1 keep-alive server on Boost.Beast. Each connection reads one request at a time;
// handlers run on a worker pool so a slow one never stalls other connections' I/O. On
// SIGTERM/SIGINT (or Stop) it stops accepting, lets in-flight requests finish, closes idle
// connections and returns from Run within shutdown_timeout.
class Server {
 public:
  // Handlers run on `pool` when given (joined when Run returns), else on a pool of
  // settings.worker_threads of its own.
  Server(ServerSettings settings, RequestHandler handler, Logger logger,
         WorkerPool* pool = nullptr);
  Server(ServerSettings settings, SyncRequestHandler handler, Logger logger);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; returns the bound port (useful with port 0).
  Result<uint16_t> Listen();
  // Called once when a shutdown begins (before Run), e.g. to end long waits so their
  // requests answer within the drain.
  void OnShutdown(std::function<void()> hook);
  // Serves until stopped by a signal or Stop(). Returns true on a clean drain.
  bool Run();
  void Stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// Serves one connection entirely in memory: the client sends `input`, then ends its side; the
// server reads, frames, limits and answers it exactly as a TCP connection (the same session
// code, with `handler` on `pool`, from 127.0.0.1) and this returns every byte it wrote back,
// once the connection has ended and every response is out. No socket, no timeouts. For the
// HTTP fuzz target.
std::string ExchangeInMemory(ServerSettings settings, RequestHandler handler, Logger logger,
                             WorkerPool& pool, std::string_view input);

}  // namespace assistantd::http
