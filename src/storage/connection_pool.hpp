#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace assistantd::storage {

// A fixed set of connections lent out one at a time; Acquire waits while all are in use. The
// same for every backend; `on_lend` (optional) runs on a connection before it is lent (the
// PostgreSQL pool reopens one the server closed while it was idle).
template <class Conn>
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->Return(std::move(conn_));
    }
    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  void Add(std::unique_ptr<Conn> conn) { Return(std::move(conn)); }
  void OnLend(std::function<void(Conn&)> on_lend) { on_lend_ = std::move(on_lend); }

  Lease Acquire() {
    std::unique_ptr<Conn> conn;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !idle_.empty(); });
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    if (on_lend_) on_lend_(*conn);
    return Lease(this, std::move(conn));
  }

 private:
  void Return(std::unique_ptr<Conn> conn) {
    {
      std::lock_guard lock(mu_);
      idle_.push_back(std::move(conn));
    }
    cv_.notify_one();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::function<void(Conn&)> on_lend_;
};

}  // namespace assistantd::storage
