#include "http/server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/beast/_experimental/test/stream.hpp>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/ascii.hpp"
#include "common/thread_name.hpp"
#include "common/uuid.hpp"
#include "http/beast.hpp"
#include "http/error_mapping.hpp"
#include "http/pipeline.hpp"

namespace assistantd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// A connection, whatever carries it (Session<Stream> below); what the server tracks to drain.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  // Called from any thread at shutdown: an idle connection closes now, a busy one after its
  // response.
  virtual void Shutdown() = 0;
};

struct WorkerPool::Impl {
  explicit Impl(int count) : guard(asio::make_work_guard(ioc)) {
    for (int i = 0; i < std::max(1, count); ++i) {
      threads.emplace_back([this] {
        NameThisThread("ad-handler");
        ioc.run();
      });
    }
  }
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::vector<std::thread> threads;
};

WorkerPool::WorkerPool(int threads) : impl_(std::make_unique<Impl>(threads)) {}
WorkerPool::~WorkerPool() { Join(); }
void WorkerPool::Post(std::function<void()> task) { asio::post(impl_->ioc, std::move(task)); }
// Runs what is queued, then ends the threads.
void WorkerPool::Join() {
  impl_->guard.reset();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

struct Server::State {
  ServerSettings settings;
  RequestHandler handler;
  Logger logger;
  asio::io_context ioc;
  std::unique_ptr<WorkerPool> own_workers;
  WorkerPool* workers;
  WorkerPool priority{1};
  tcp::acceptor acceptor;
  std::optional<asio::signal_set> signals;  // a Server's, from its construction; not in memory
  asio::steady_timer deadline;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::atomic<bool> stopping{false};
  std::atomic<bool> forced{false};
  bool stop_when_idle = false;
  std::atomic<size_t> lingering{0};  // connections reading what a refused client still sends  // in
                                     // memory: the run ends when its one connection has
  std::function<void()> on_shutdown;
  asio::steady_timer accept_backoff;
  std::mutex mu;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  size_t admitted = 0;                             // sessions counted against the limits
  std::unordered_map<std::string, size_t> per_ip;  // of those, by client address
  // Refusals and accept failures are logged at most once per kLogEvery, with a count.
  std::chrono::steady_clock::time_point last_refusal_log{};
  uint64_t refusals_unlogged = 0;

  State(ServerSettings s, RequestHandler h, Logger l, WorkerPool* pool)
      : settings(std::move(s)),
        handler(std::move(h)),
        logger(std::move(l)),
        ioc(std::max(1, settings.io_threads)),
        own_workers(pool ? nullptr : std::make_unique<WorkerPool>(settings.worker_threads)),
        workers(pool ? pool : own_workers.get()),
        acceptor(asio::make_strand(ioc)),
        deadline(ioc),
        accept_backoff(acceptor.get_executor()) {
    if (settings.metrics) {
      settings.metrics->DeclareGauge("assistantd_http_connections", "Open client connections",
                                     [this] {
                                       std::lock_guard lock(mu);
                                       return static_cast<double>(admitted);
                                     });
      settings.metrics->DeclareGauge(
          "assistantd_http_connections_lingering",
          "Connections reading what a refused client still sends before closing",
          [this] { return static_cast<double>(lingering.load()); });
      settings.metrics->DeclareCounter(
          "assistantd_http_connections_refused_total",
          "Connections refused (503) or not accepted, by reason: total, per_ip, accept_error");
    }
  }

  // Whether a new connection from `ip` fits the limits; counts it if so. The reason otherwise.
  std::optional<std::string> Admit(const std::string& ip) {
    std::lock_guard lock(mu);
    const bool exempt = std::find(settings.trusted_proxies.begin(), settings.trusted_proxies.end(),
                                  ip) != settings.trusted_proxies.end();
    if (settings.max_connections && admitted >= settings.max_connections) return "total";
    if (!exempt && settings.max_connections_per_ip &&
        per_ip[ip] >= settings.max_connections_per_ip) {
      if (per_ip[ip] == 0) per_ip.erase(ip);
      return "per_ip";
    }
    ++admitted;
    ++per_ip[ip];
    return std::nullopt;
  }
  void Release(const std::string& ip) {
    std::lock_guard lock(mu);
    --admitted;
    if (--per_ip[ip] == 0) per_ip.erase(ip);
  }
  // Counts a refusal (or failed accept) and logs it, at most once per kLogEvery.
  void Refused(const std::string& reason, const std::string& detail);

  static constexpr std::chrono::seconds kLogEvery{10};

  void Register(SessionBase* s, std::weak_ptr<SessionBase> w) {
    std::lock_guard lock(mu);
    sessions.emplace(s, std::move(w));
  }
  void Unregister(SessionBase* s);
  void BeginShutdown();
};

namespace {

// Errors found before a request reaches the pipeline (unparseable, too large, badly framed).
Response ParseErrorResponse(const Error& error) {
  const std::string request_id = NewUuid();
  Response r = ErrorResponse(error, request_id);
  r.SetHeader("X-Request-Id", request_id);
  AddCorsHeaders(r);
  return r;
}

Response ParseErrorResponse(ErrorCode code, std::string reason, std::string message) {
  return ParseErrorResponse(
      Error{code, std::move(reason), std::move(message), nlohmann::json::array(), {}});
}

// What is wrong with how a request names its host or frames its body (RFC 9112 §3.2, §6), if
// anything. The body's length must be unambiguous, or a proxy in front of us and we could read
// different requests from the same bytes (request smuggling): so Transfer-Encoding is accepted
// only as exactly `chunked`, never beside Content-Length, never in HTTP/1.0.
std::optional<Error> FramingProblem(const bhttp::request_parser<bhttp::string_body>& parser) {
  const auto& req = parser.get();
  const auto bad = [](std::string reason, std::string message, ErrorCode code) {
    return Error{code, std::move(reason), std::move(message), nlohmann::json::array(), {}};
  };
  const auto hosts = req.count(bhttp::field::host);
  if (hosts > 1 || (hosts == 0 && req.version() >= 11)) {
    return bad("bad_host", "A request needs exactly one Host header", ErrorCode::kInvalidInput);
  }
  std::vector<std::string> codings;
  for (auto it = req.find(bhttp::field::transfer_encoding);
       it != req.end() && it->name() == bhttp::field::transfer_encoding; ++it) {
    for (const auto& coding : bhttp::token_list(it->value())) {
      codings.push_back(AsciiLower(std::string_view(coding.data(), coding.size())));
    }
    if (codings.empty()) codings.emplace_back();  // a Transfer-Encoding with no coding at all
  }
  if (codings.empty()) return std::nullopt;
  if (req.version() < 11 || req.count(bhttp::field::content_length) > 0) {
    return bad("bad_framing",
               "Transfer-Encoding may not be combined with Content-Length or HTTP/1.0",
               ErrorCode::kInvalidInput);
  }
  if (codings.back() != "chunked") {
    return bad("bad_framing", "The final transfer coding of a request must be chunked",
               ErrorCode::kInvalidInput);
  }
  if (codings.size() > 1) {
    return bad("unsupported_transfer_coding", "Only the chunked transfer coding is supported",
               ErrorCode::kNotImplemented);
  }
  return std::nullopt;
}

}  // namespace

// The 503 answer to a connection over the limits, as bytes: rendered once, with a fresh request
// id (a UUID, so of fixed length) put in each time.
std::string RefusalBytes() {
  static constexpr std::string_view kPlaceholder = "00000000-0000-4000-8000-000000000000";
  static const std::string rendered = [] {
    Response r = ErrorResponse(Error{ErrorCode::kUnavailable,
                                     "too_many_connections",
                                     "Too many connections; try again later",
                                     nlohmann::json::array(),
                                     {}},
                               std::string(kPlaceholder));
    r.SetHeader("X-Request-Id", std::string(kPlaceholder));
    AddCorsHeaders(r);
    bhttp::response<bhttp::string_body> out;
    out.version(11);
    out.result(static_cast<unsigned>(r.status));
    for (auto& [name, value] : r.headers) out.set(name, value);
    out.body() = r.body;
    out.keep_alive(false);
    out.prepare_payload();
    std::ostringstream text;
    text << out;
    return text.str();
  }();
  std::string bytes = rendered;
  const std::string id = NewUuid();
  for (size_t at = bytes.find(kPlaceholder); at != std::string::npos;
       at = bytes.find(kPlaceholder, at + id.size())) {
    bytes.replace(at, kPlaceholder.size(), id);
  }
  return bytes;
}

// What a connection does that depends on what carries it: a TCP socket, or (for the HTTP fuzz
// target) an in-memory pipe whose input is all there from the start, so nothing times out.
using MemoryStream = beast::test::stream;

void ExpiresAfter(beast::tcp_stream& s, std::chrono::steady_clock::duration d) {
  s.expires_after(d);
}
void ExpiresAfter(MemoryStream&, std::chrono::steady_clock::duration) {}
void ExpiresNever(beast::tcp_stream& s) { s.expires_never(); }
void ExpiresNever(MemoryStream&) {}

// The TCP peer's address; empty if it is already gone.
std::string PeerAddress(beast::tcp_stream& s) {
  beast::error_code ec;
  const auto ep = s.socket().remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}
std::string PeerAddress(MemoryStream&) { return "127.0.0.1"; }

// Half-closes: no more bytes from us, the client's still readable. False on failure.
bool ShutdownSend(beast::tcp_stream& s) {
  beast::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
  return !ec;
}
bool ShutdownSend(MemoryStream&) { return true; }  // a pipe has no half-close: nothing to do

// Abortive close: RST instead of FIN, as a crashed or misbehaving peer would.
void ResetConnection(beast::tcp_stream& s) {
  beast::error_code ec;
  s.socket().set_option(asio::socket_base::linger(true, 0), ec);
  s.close();
}
void ResetConnection(MemoryStream& s) { s.close(); }

void CloseConnection(beast::tcp_stream& s) {
  ShutdownSend(s);
  s.close();
}
void CloseConnection(MemoryStream& s) { s.close(); }

template <class Stream>
class Session final : public SessionBase {
 public:
  // `counted_ip`: the client address this connection counts against (released when it ends);
  // nullopt for a connection being refused or one not counted.
  Session(Stream stream, std::shared_ptr<Server::State> state,
          std::optional<std::string> counted_ip)
      : stream_(std::move(stream)), state_(std::move(state)), counted_ip_(std::move(counted_ip)) {}
  std::optional<std::string> peer_;  // the TCP peer's address, once known

  ~Session() override {
    StopLingering();
    if (counted_ip_) state_->Release(*counted_ip_);
    state_->Unregister(this);
  }

  void Start() {
    state_->Register(this, weak_from_this());
    asio::dispatch(stream_.get_executor(), [self = Self()] { self->ReadHeader(); });
  }

  // Over the connection limits: a 503 at once (no request is read), then the connection ends.
  // Written as prepared bytes: a flood of refusals must cost the admitted connections as little
  // as possible on the I/O threads they share.
  void Refuse() {
    state_->Register(this, weak_from_this());
    asio::dispatch(stream_.get_executor(), [self = Self()] {
      self->refused_ = true;
      self->busy_ = true;
      auto bytes = std::make_shared<std::string>(RefusalBytes());
      ExpiresAfter(self->stream_, self->state_->settings.write_timeout);
      asio::async_write(self->stream_, asio::buffer(*bytes),
                        [self, bytes](beast::error_code ec, std::size_t) {
                          // A request already sent is read and dropped, so the 503 arrives.
                          if (ec) return self->Close();
                          self->Linger();
                        });
    });
  }

  void Shutdown() override {
    asio::post(stream_.get_executor(), [self = Self()] {
      self->close_after_response_ = true;
      if (!self->busy_) self->Close();
    });
  }

 private:
  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }

  void ReadHeader() {
    if (state_->stopping) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->settings.max_header_bytes));
    parser_->body_limit(state_->settings.max_body_bytes);
    ExpiresAfter(stream_, state_->settings.idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = Self()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    const auto& req = parser_->get();
    if (auto problem = FramingProblem(*parser_)) {
      // The body's extent is unknown: nothing after this header can be read as a request.
      close_after_response_ = true;
      linger_ = true;
      return Write(ParseErrorResponse(*problem));
    }
    if (const auto length = parser_->content_length();
        length && *length > state_->settings.max_body_bytes) {
      return TooLarge();
    }
    ExpiresAfter(stream_, state_->settings.read_timeout);
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                       req.version());
      bhttp::async_write(stream_, *cont, [self = Self(), cont](beast::error_code wec, std::size_t) {
        if (wec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = Self()](beast::error_code ec, std::size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->Dispatch();
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return TooLarge();
    if (ec == bhttp::error::header_limit) {
      close_after_response_ = true;
      return Write(ParseErrorResponse(ErrorCode::kHeadersTooLarge, "headers_too_large",
                                      "Request headers are too large"));
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset || (!busy_ && buffer_.size() == 0)) {
      return Close();
    }
    if (!busy_ && SkipLeadingBlankLines()) return ReadHeader();
    close_after_response_ = true;
    Write(ParseErrorResponse(ErrorCode::kInvalidInput, "malformed_request",
                             "The request is not valid HTTP/1.1"));
  }

  // RFC 9112 §2.2: empty lines before a request line are ignored (a client may send a CRLF
  // after a body); a few bytes of them per request, no more.
  bool SkipLeadingBlankLines() {
    const auto data = beast::buffers_to_string(buffer_.data());
    size_t n = 0;
    while (n < data.size() && (data[n] == '\r' || data[n] == '\n')) ++n;
    if (n == 0 || blank_bytes_ + n > kMaxBlankBytes) return false;
    blank_bytes_ += n;
    buffer_.consume(n);
    return true;
  }

  void TooLarge() {
    close_after_response_ = true;
    linger_ = true;
    Write(ParseErrorResponse(
        ErrorCode::kPayloadTooLarge, "payload_too_large",
        "Request body exceeds " + std::to_string(state_->settings.max_body_bytes) + " bytes"));
  }

  void Dispatch() {
    busy_ = true;
    blank_bytes_ = 0;
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(16);
    for (const auto& field : msg) {
      const auto name = field.name_string();
      req.headers.emplace_back(AsciiLower(std::string_view(name.data(), name.size())),
                               std::string(field.value()));
    }
    req.body = std::move(msg.body());
    // The peer is asked once per connection: a syscall per request otherwise.
    if (!peer_) peer_ = PeerAddress(stream_);
    if (!peer_->empty()) {
      req.remote_ip =
          ClientIp(*peer_, req.Header("x-forwarded-for"), state_->settings.trusted_proxies);
    }
    ExpiresNever(stream_);
    const auto listed = [&](const std::vector<std::string>& paths) {
      return req.method == "GET" && std::find(paths.begin(), paths.end(), req.path) != paths.end();
    };
    if (listed(state_->settings.inline_paths)) {
      return state_->handler(std::move(req), [self = Self()](Response res) {
        asio::dispatch(self->stream_.get_executor(),
                       [self, res = std::move(res)]() mutable { self->Write(std::move(res)); });
      });
    }
    WorkerPool& lane =
        listed(state_->settings.priority_paths) ? state_->priority : *state_->workers;
    if (state_->settings.inline_first) {
      return state_->settings.inline_first(
          std::move(req),
          [self = Self()](Response res) {
            asio::dispatch(self->stream_.get_executor(),
                           [self, res = std::move(res)]() mutable { self->Write(std::move(res)); });
          },
          [&lane](std::function<void()> task) { lane.Post(std::move(task)); });
    }
    lane.Post([self = Self(), req = std::move(req)]() mutable {
      self->state_->handler(std::move(req), [self](Response res) {
        asio::post(self->stream_.get_executor(),
                   [self, res = std::move(res)]() mutable { self->Write(std::move(res)); });
      });
    });
  }

  void Write(Response res) {
    if (res.disposition == Disposition::kReset) return Reset();
    if (res.disposition == Disposition::kHang) return Hang();
    auto out = std::make_shared<bhttp::response<bhttp::string_body>>();
    out->version(version_ ? version_ : 11);
    out->result(static_cast<unsigned>(res.status));
    for (auto& [name, value] : res.headers) out->set(name, value);
    const bool no_body = res.status == 204 || res.status == 304;
    if (no_body) {
      out->erase(bhttp::field::content_type);
    } else {
      out->body() = std::move(res.body);
    }
    const bool keep = keep_alive_ && !close_after_response_ && !state_->stopping;
    out->keep_alive(keep);
    out->prepare_payload();
    // RFC 9110 §8.6: no Content-Length on a 204, and on a 304 only the 200's own length, which
    // the reader does not need: none on either.
    if (no_body) out->erase(bhttp::field::content_length);
    ExpiresAfter(stream_, state_->settings.write_timeout);
    bhttp::async_write(stream_, *out,
                       [self = Self(), out, keep](beast::error_code ec, std::size_t) {
                         self->busy_ = false;
                         if (!ec && !keep && self->linger_) return self->Linger();
                         if (ec || !keep) return self->Close();
                         self->ReadHeader();
                       });
  }

  // After refusing a request whose body is still arriving (or a connection over the limits):
  // stop sending, then read and discard what the client is still uploading, so it can read our
  // answer instead of getting a connection reset. Bounded in bytes, time (1 s for a refused
  // connection: a flood of them must not hold descriptors) and memory: a small buffer each, and
  // at most kMaxLingering connections at once (past that, a refusal just closes).
  void Linger() {
    if (!ShutdownSend(stream_)) return Close();
    if (state_->lingering.fetch_add(1) >= kMaxLingering) {
      state_->lingering.fetch_sub(1);
      return Close();
    }
    lingering_ = true;
    ExpiresAfter(stream_, refused_ ? std::chrono::seconds(1) : std::chrono::seconds(5));
    discard_.resize(kDiscardBytes);
    DiscardSome();
  }

  void DiscardSome() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = Self()](beast::error_code ec, std::size_t n) {
                              self->discarded_ += n;
                              if (ec || self->discarded_ > kMaxLingerBytes) {
                                self->StopLingering();
                                return self->Close();
                              }
                              self->DiscardSome();
                            });
  }

  void StopLingering() {
    if (std::exchange(lingering_, false)) state_->lingering.fetch_sub(1);
  }

  void Reset() { ResetConnection(stream_); }

  // Never answer: wait until the client gives up (or the server stops), then close.
  void Hang() {
    busy_ = false;
    ExpiresAfter(stream_, std::chrono::minutes(10));
    discard_.resize(kDiscardBytes);
    stream_.async_read_some(asio::buffer(discard_),
                            [self = Self()](beast::error_code, std::size_t) { self->Close(); });
  }

  void Close() { CloseConnection(stream_); }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Server::State> state_;
  std::optional<std::string> counted_ip_;
  static constexpr size_t kMaxLingerBytes = 64 * 1024 * 1024;
  static constexpr size_t kDiscardBytes = 4096;
  static constexpr size_t kMaxLingering = 1024;
  bool lingering_ = false;
  bool refused_ = false;  // over the connection limits
  static constexpr size_t kMaxBlankBytes = 8;
  size_t blank_bytes_ = 0;
  bool busy_ = false;
  bool linger_ = false;
  std::string discard_;
  size_t discarded_ = 0;
  bool keep_alive_ = false;
  bool close_after_response_ = false;
  unsigned version_ = 11;
};

using TcpSession = Session<beast::tcp_stream>;

void Server::State::Unregister(SessionBase* s) {
  bool drained = false;
  {
    std::lock_guard lock(mu);
    sessions.erase(s);
    drained = (stopping || stop_when_idle) && sessions.empty();
  }
  if (drained) {
    asio::post(ioc, [this] {
      deadline.cancel();
      guard.reset();
    });
  }
}

void Server::State::Refused(const std::string& reason, const std::string& detail) {
  if (settings.metrics) {
    settings.metrics->Counter("assistantd_http_connections_refused_total", {{"reason", reason}})
        .Inc();
  }
  uint64_t count = 0;
  {
    std::lock_guard lock(mu);
    ++refusals_unlogged;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log < kLogEvery) return;
    last_refusal_log = now;
    count = std::exchange(refusals_unlogged, 0);
  }
  LogEvent(logger, spdlog::level::warn,
           reason == "accept_error" ? "cannot accept connections" : "connection limit reached",
           {{"reason", reason},
            {"detail", detail},
            {"sinceLastLog", count},
            {"maxConnections", settings.max_connections},
            {"maxConnectionsPerIp", settings.max_connections_per_ip}});
}

void Server::State::BeginShutdown() {
  if (stopping.exchange(true)) return;
  LogEvent(logger, spdlog::level::info, "shutting down: draining connections");
  if (on_shutdown) on_shutdown();
  beast::error_code ec;
  acceptor.close(ec);
  accept_backoff.cancel();
  if (signals) signals->cancel(ec);
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(mu);
    for (auto& [ptr, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Shutdown();
  if (live.empty()) {
    guard.reset();
    return;
  }
  deadline.expires_after(settings.shutdown_timeout);
  deadline.async_wait([this](beast::error_code wait_ec) {
    if (wait_ec) return;
    forced = true;
    LogEvent(logger, spdlog::level::warn, "shutdown deadline reached; closing connections");
    ioc.stop();
  });
}

namespace {

// Out of descriptors (or kernel memory) the listening socket stays readable, so accepting
// again at once would spin: wait this long first.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

void Accept(const std::shared_ptr<Server::State>& state) {
  state->acceptor.async_accept(
      asio::make_strand(state->ioc), [state](beast::error_code ec, tcp::socket socket) {
        if (state->stopping) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          state->Refused("accept_error", ec.message());
          state->accept_backoff.expires_after(kAcceptBackoff);
          state->accept_backoff.async_wait([state](beast::error_code wait_ec) {
            if (!wait_ec && !state->stopping) Accept(state);
          });
          return;
        }
        socket.set_option(tcp::no_delay(true), ec);
        const auto peer = socket.remote_endpoint(ec);
        const std::string ip = ec ? std::string() : peer.address().to_string();
        if (const auto over = state->Admit(ip)) {
          state->Refused(*over, ip);
          std::make_shared<TcpSession>(beast::tcp_stream(std::move(socket)), state, std::nullopt)
              ->Refuse();
        } else {
          std::make_shared<TcpSession>(beast::tcp_stream(std::move(socket)), state, ip)->Start();
        }
        Accept(state);
      });
}

}  // namespace

Server::Server(ServerSettings settings, RequestHandler handler, Logger logger, WorkerPool* pool)
    : state_(std::make_shared<State>(std::move(settings), std::move(handler), std::move(logger),
                                     pool)) {
  // From now on SIGINT and SIGTERM start a drain (once Run runs) instead of killing us.
  state_->signals.emplace(state_->ioc, SIGINT, SIGTERM);
}

Server::Server(ServerSettings settings, SyncRequestHandler handler, Logger logger)
    : Server(
          std::move(settings),
          [handler = std::move(handler)](Request request, std::function<void(Response)> respond) {
            respond(handler(request));
          },
          std::move(logger)) {}

Server::~Server() {
  state_->workers->Join();
  state_->priority.Join();
}

Result<uint16_t> Server::Listen() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(state_->settings.host, ec);
  if (ec) {
    return Fail(ErrorCode::kInvalidInput, "bad_listen_address",
                "invalid listen address " + state_->settings.host);
  }
  const tcp::endpoint endpoint(address, state_->settings.port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Fail(ErrorCode::kUnavailable, "listen_failed",
                "cannot listen on " + state_->settings.host + ":" +
                    std::to_string(state_->settings.port) + ": " + ec.message());
  }
  return acceptor.local_endpoint().port();
}

bool Server::Run() {
  auto state = state_;
  state->guard.emplace(asio::make_work_guard(state->ioc));
  state->signals->async_wait([state](beast::error_code ec, int) {
    if (!ec) state->BeginShutdown();
  });
  Accept(state);
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, state->settings.io_threads); ++i) {
    threads.emplace_back([state] {
      NameThisThread("ad-io");
      state->ioc.run();
    });
  }
  state->ioc.run();
  for (auto& t : threads) t.join();
  state->workers->Join();
  state->priority.Join();
  return !state->forced;
}

void Server::OnShutdown(std::function<void()> hook) { state_->on_shutdown = std::move(hook); }

void Server::Stop() {
  asio::post(state_->ioc, [state = state_] { state->BeginShutdown(); });
}

std::string ExchangeInMemory(ServerSettings settings, RequestHandler handler, Logger logger,
                             WorkerPool& pool, std::string_view input) {
  settings.io_threads = 1;
  settings.metrics = nullptr;  // the gauges would outlive this run's state
  auto state = std::make_shared<Server::State>(std::move(settings), std::move(handler),
                                               std::move(logger), &pool);
  state->stop_when_idle = true;
  state->guard.emplace(asio::make_work_guard(state->ioc));
  MemoryStream client(state->ioc);
  MemoryStream server(state->ioc);
  server.connect(client);
  server.append(beast::string_view(input.data(), input.size()));
  server.close_remote();  // after the input, the server reads end of stream
  // The run ends once the session has unregistered; the session may still be being destroyed
  // then, on a handler thread that released it last, so wait until it is gone.
  using MemorySession = Session<MemoryStream>;
  auto gone = std::make_shared<std::promise<void>>();
  auto gone_future = gone->get_future();
  std::shared_ptr<MemorySession>(new MemorySession(std::move(server), state, std::nullopt),
                                 [gone](MemorySession* session) {
                                   delete session;
                                   gone->set_value();
                                 })
      ->Start();
  state->ioc.run();
  gone_future.wait();
  const auto out = client.str();
  return std::string(out.data(), out.size());
}

}  // namespace assistantd::http
