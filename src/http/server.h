// The HTTP/1.1 server: one thread per core, each with its own io_context and its own
// SO_REUSEPORT acceptor, so connections never migrate between threads and no lock is
// taken on the request path. Each connection is one coroutine.
//
// Lifecycle: Start() binds and spawns the threads; Stop() (any thread) closes the
// acceptors, closes idle keep-alive connections, lets in-flight requests finish (their
// responses carry Connection: close) and returns once every connection has ended or
// the drain deadline passed.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/http.h"

namespace boost::asio::ssl {
class context;
}

namespace sluice::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 9000;  // 0 picks a free port; see Server::port()
  int threads = 0;       // 0 = one per core
  size_t header_limit = size_t{64} * 1024;
  std::chrono::seconds header_timeout{30};  // to receive a whole request head
  std::chrono::seconds idle_timeout{60};    // between requests on a keep-alive connection
  std::chrono::seconds io_timeout{60};      // without progress while reading or writing a body
  uint64_t drain_limit = 1 << 20;           // unread body bytes drained to keep a connection
  std::chrono::seconds drain_deadline{30};  // Stop() waits this long for in-flight requests
  // PEM files; both set means the port speaks HTTPS only.
  std::string tls_cert;
  std::string tls_key;
  // Also serve plain HTTP on this Unix-domain socket (empty: none), for clients on this
  // host: a third of loopback TCP's cost per byte (bench/NOTES.md). The path must not
  // exist (the caller removes a stale one).
  std::string unix_path;
  // TCP peers whose X-Forwarded-For, X-Real-IP and X-Forwarded-Proto are believed
  // (ApplyForwarded, http.h); empty: nobody's.
  TrustedProxy trusted_proxy;
};

class Server {
 public:
  Server(ServerOptions opts, Handler handler, ErrorRenderer errors);
  ~Server();
  Status Start();
  void Stop();
  // Reads the certificate and key again (SIGHUP). New connections use them; open ones
  // keep the context they started with. On error the old certificate stays in use.
  Status ReloadTls();
  bool tls() const { return !opts_.tls_cert.empty(); }
  uint16_t port() const { return port_; }
  size_t open_connections() const { return connections_.load(); }
  uint64_t accepted_connections() const { return accepted_.load(std::memory_order_relaxed); }

 private:
  struct Worker;
  std::shared_ptr<boost::asio::ssl::context> TlsContext();
  ServerOptions opts_;
  Handler handler_;
  ErrorRenderer errors_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> connections_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::mutex tls_mu_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace sluice::http
