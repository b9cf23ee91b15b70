#include "net/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "base/log.h"
#include "base/metrics.h"
#include "fmt/format.h"
#include "net/address.h"
#include "net/body_buffer_pool.h"
#include "net/compression.h"
#include "net/url.h"

namespace oriel::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

int DefaultThreads(int requested, int per_core) {
  if (requested > 0) return requested;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return cores * per_core;
}

}  // namespace

class Connection;

class HttpServer::Impl {
 public:
  Impl(const Router& router, HttpServerOptions options, metrics::Registry& registry)
      : router_(router),
        options_(options),
        requests_(registry.AddCounterFamily("oriel_http_requests_total",
                                            "HTTP requests answered, by route and status code.",
                                            {"handler", "code"})),
        durations_(registry.AddHistogramFamily(
            "oriel_http_request_duration_seconds",
            "Time from a request's complete arrival to its response being ready, by route.",
            {"handler"}, metrics::ExponentialBuckets(0.0005, 4, 10))),
        received_(registry.AddCounterFamily(
            "oriel_http_request_body_bytes_total",
            "Request body bytes received on the wire (before decompression), by route.",
            {"handler"})),
        connections_(registry.AddGauge("oriel_http_open_connections", "Open HTTP connections.")),
        inflight_gauge_(
            registry.AddGauge("oriel_http_requests_in_flight", "HTTP requests being handled now.")),
        workers_(static_cast<size_t>(DefaultThreads(options.worker_threads, 4))) {}

  absl::Status Listen(std::string_view address);
  void Start();
  void Shutdown(absl::Duration grace);
  void Accept(tcp::acceptor& acceptor);

  void Register(Connection* c);
  void Unregister(Connection* c);

  const Router& router_;
  const HttpServerOptions options_;

  // Declared before the io_context: connections still queued in it unregister when it dies.
  std::mutex mu_;
  std::condition_variable idle_cv_;
  absl::flat_hash_set<Connection*> connections_set_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::atomic<size_t> inflight_{0};

  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& durations_;
  metrics::CounterFamily& received_;
  metrics::Gauge& connections_;
  metrics::Gauge& inflight_gauge_;

  // Large answers' buffers, back from the socket once written, for the next large answer. A few
  // (about one per concurrent large query), bounded so that idle memory stays small.
  BodyBufferPool body_buffers_{4, 64 << 20};

  asio::io_context ioc_;
  asio::thread_pool workers_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::vector<std::string> bound_;
  std::vector<std::thread> io_threads_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
};

// One TCP connection; all its socket work runs on its strand, handlers on the worker pool.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)), body_timer_(stream_.get_executor()) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = fmt::format("{}:{}", ep.address().to_string(), ep.port());
    server_.Register(this);
  }
  ~Connection() { server_.Unregister(this); }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Called on shutdown: a connection waiting for a new request is closed now; a busy one
  // closes after its response.
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->Close();
    });
  }

 private:
  void ReadHeader() {
    if (server_.stopping_) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options_.max_header_bytes));
    parser_->body_limit(server_.options_.max_body_bytes);
    idle_ = buffer_.size() == 0;
    stream_.expires_after(ToChrono(server_.options_.idle_timeout));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    if (ec == http::error::header_limit) {
      return Fail(431, "request header fields too large");
    }
    if (ec == http::error::body_limit) {
      // Beast checks a declared Content-Length against the limit while parsing the header.
      return Fail(413, fmt::format("request body exceeds the limit of {} bytes",
                                   server_.options_.max_body_bytes));
    }
    if (ec) {
      // A client that closed, timed out or was closed at shutdown: nobody to answer.
      if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == beast::error::timeout || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::bad_descriptor) {
        return Close();
      }
      return Fail(400, fmt::format("cannot parse request: {}", ec.message()));
    }
    auto declared = parser_->content_length();
    if (declared && *declared > server_.options_.max_body_bytes) {
      return Fail(413, fmt::format("request body of {} bytes exceeds the limit of {} bytes",
                                   *declared, server_.options_.max_body_bytes));
    }
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      continue_.emplace(http::status::continue_, parser_->get().version());
      stream_.expires_after(ToChrono(server_.options_.write_timeout));
      http::async_write(stream_, *continue_,
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return Dispatch(std::string());
    auto length = parser_->content_length();
    if (length && !parser_->chunked()) return ReadSizedBody(*length);
    // Chunked bodies have no declared size: Beast parses them, with the body limit it was given.
    stream_.expires_after(ToChrono(server_.options_.read_timeout));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return Fail(413, fmt::format("request body exceeds the limit of {} bytes",
                                   server_.options_.max_body_bytes));
    }
    if (ec) return Close();
    Dispatch(std::move(parser_->get().body()));
  }

  // A body of declared size (already checked against the limit) is read straight into the string
  // the handler gets: no copy out of a parse buffer, reads as large as the socket has data for,
  // and one timer for the whole body instead of one per read (each costs a timerfd_settime).
  void ReadSizedBody(size_t length) {
    body_.resize(length);
    size_t buffered = std::min(buffer_.size(), length);
    asio::buffer_copy(asio::buffer(body_.data(), buffered), buffer_.data());
    buffer_.consume(buffered);
    if (buffered == length) return Dispatch(std::move(body_));
    body_timer_.expires_after(ToChrono(server_.options_.read_timeout));
    body_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Close();  // the pending read then fails and the request is dropped
    });
    asio::async_read(stream_.socket(), asio::buffer(body_.data() + buffered, length - buffered),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->body_timer_.cancel();
                       if (ec) return self->Close();
                       self->Dispatch(std::move(self->body_));
                     });
  }

  void Dispatch(std::string body) {
    const http::request<http::string_body>& msg = parser_->get();
    keep_alive_ = msg.keep_alive() && !server_.stopping_;
    head_ = msg.method() == http::verb::head;
    auto request = std::make_shared<HttpRequest>();
    request->method = std::string(msg.method_string());
    request->target = std::string(msg.target());
    size_t q = request->target.find('?');
    request->path = request->target.substr(0, q);
    if (q != std::string::npos) request->query = ParseQueryString(request->target.substr(q + 1));
    for (const auto& field : msg) {
      request->headers.Add(std::string(field.name_string()), std::string(field.value()));
    }
    request->body = std::move(body);
    request->wire_body_bytes = request->body.size();
    request->remote_address = remote_;

    if (server_.inflight_.fetch_add(1) >= server_.options_.max_inflight_requests) {
      server_.inflight_.fetch_sub(1);
      HttpResponse response;
      response.headers.Set("Retry-After", "1");
      response.SetText(503, "server overloaded: too many requests in flight, retry later\n");
      return Write(std::move(response), false);
    }
    server_.inflight_gauge_.Inc();
    asio::post(server_.workers_, [self = shared_from_this(), request] {
      auto start = absl::Now();
      HttpResponse response;
      response.body_pool = &self->server_.body_buffers_;
      std::string_view handler = "other";
      if (self->DecodeBody(*request, response))
        handler = self->server_.router_.Dispatch(*request, response);
      bool gzip = false;
      if (auto accept = request->headers.Get("Accept-Encoding")) gzip = AcceptsGzip(*accept);
      double seconds = absl::ToDoubleSeconds(absl::Now() - start);
      auto& s = self->server_;
      s.requests_.WithLabels({handler, std::to_string(response.status)}).Inc();
      s.durations_.WithLabels({handler}).Observe(seconds);
      s.received_.WithLabels({handler}).Inc(static_cast<double>(request->wire_body_bytes));
      s.inflight_gauge_.Dec();
      s.inflight_.fetch_sub(1);
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response), gzip]() mutable {
                   self->Write(std::move(response), gzip);
                 });
    });
  }

  // Undoes gzip/deflate Content-Encoding in place; answers 4xx itself and returns false when
  // the body cannot be decoded.
  bool DecodeBody(HttpRequest& request, HttpResponse& response) {
    auto encoding = request.headers.Get("Content-Encoding");
    if (!encoding) return true;
    ContentCoding coding = ParseContentCoding(*encoding);
    if (coding == ContentCoding::kIdentity) {
      request.headers.Remove("Content-Encoding");
      return true;
    }
    if (coding != ContentCoding::kGzip && coding != ContentCoding::kDeflate) return true;
    auto inflated = Inflate(request.body, coding, server_.options_.max_decompressed_body_bytes);
    if (!inflated.ok()) {
      int status = absl::IsResourceExhausted(inflated.status()) ? 413 : 400;
      response.SetText(status, std::string(inflated.status().message()) + "\n");
      return false;
    }
    request.body = std::move(*inflated);
    request.headers.Remove("Content-Encoding");
    return true;
  }

  void Write(HttpResponse response, bool gzip) {
    res_.emplace();
    res_->version(11);
    res_->result(static_cast<unsigned>(response.status));
    bool compressible = gzip && !response.headers.Has("Content-Encoding") &&
                        response.body.size() >= server_.options_.gzip_min_bytes &&
                        response.status != 204 && response.status != 304;
    if (compressible) {
      std::string plain = std::exchange(response.body, Gzip(response.body));
      server_.body_buffers_.Give(std::move(plain));
      response.headers.Set("Content-Encoding", "gzip");
      response.headers.Add("Vary", "Accept-Encoding");
    }
    for (const auto& [name, value] : response.headers.fields()) res_->insert(name, value);
    res_->set(http::field::server, "Oriel");
    res_->keep_alive(keep_alive_);
    size_t length = response.body.size();
    if (head_) {
      server_.body_buffers_.Give(std::move(response.body));
    } else {
      res_->body() = std::move(response.body);
    }
    res_->content_length(length);
    stream_.expires_after(ToChrono(server_.options_.write_timeout));
    http::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->server_.body_buffers_.Give(std::move(self->res_->body()));
      if (ec) return self->Close();
      if (!self->keep_alive_) return self->draining_ ? self->Drain() : self->Close();
      self->ReadHeader();
    });
  }

  // After an early error answer the client may still be sending its body; closing with unread
  // data would reset the connection and lose the answer, so read and discard for a while first.
  void Drain() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    DrainSome(0);
  }

  void DrainSome(size_t total) {
    if (total > (8u << 20)) return Close();
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = shared_from_this(), total](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->DrainSome(total + n);
                            });
  }

  // Answers an error that leaves the connection's framing unknown, then closes it.
  void Fail(int status, std::string message) {
    keep_alive_ = false;
    draining_ = true;
    head_ = false;
    HttpResponse response;
    response.SetText(status, message + "\n");
    server_.requests_.WithLabels({"other", std::to_string(status)}).Inc();
    Write(std::move(response), false);
  }

  void Close() {
    idle_ = false;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  asio::steady_timer body_timer_;  // the read timeout of a body of declared size
  std::string body_;               // that body while it is being read
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> res_;
  std::string remote_;
  bool idle_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
  bool draining_ = false;
  std::array<char, 16384> drain_buf_;
};

void HttpServer::Impl::Register(Connection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  connections_set_.insert(c);
  connections_.Inc();
}

void HttpServer::Impl::Unregister(Connection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  connections_set_.erase(c);
  connections_.Dec();
  if (connections_set_.empty()) idle_cv_.notify_all();
}

absl::Status HttpServer::Impl::Listen(std::string_view address) {
  auto hp = ParseHostPort(address);
  if (!hp.ok()) return hp.status();
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  std::string host = hp->host.empty() ? "0.0.0.0" : hp->host;
  auto results = resolver.resolve(host, std::to_string(hp->port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot resolve listen address \"{}\": {}", address, ec.message()));
  }
  auto acceptor = std::make_unique<tcp::acceptor>(ioc_);
  tcp::endpoint endpoint = results.begin()->endpoint();
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot listen on \"{}\": {}", address, ec.message()));
  }
  auto local = acceptor->local_endpoint(ec);
  bound_.push_back(HostPort{local.address().to_string(), local.port()}.ToString());
  acceptors_.push_back(std::move(acceptor));
  return absl::OkStatus();
}

void HttpServer::Impl::Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept(
      asio::make_strand(ioc_), [this, &acceptor](beast::error_code ec, tcp::socket socket) {
        if (stopping_ || !acceptor.is_open()) return;
        if (ec) {
          // Usually out of file descriptors: back off briefly instead of spinning.
          log::Warn("cannot accept connection", {{"err", ec.message()}});
          auto timer = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(50));
          timer->async_wait([this, &acceptor, timer](beast::error_code) { Accept(acceptor); });
          return;
        }
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Connection>(*this, std::move(socket))->Start();
        Accept(acceptor);
      });
}

void HttpServer::Impl::Start() {
  work_.emplace(ioc_.get_executor());
  for (auto& acceptor : acceptors_) Accept(*acceptor);
  int n = DefaultThreads(options_.io_threads, 1);
  for (int i = 0; i < n; ++i) io_threads_.emplace_back([this] { ioc_.run(); });
}

void HttpServer::Impl::Shutdown(absl::Duration grace) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_ = true;
  // Acceptors are closed on the io threads, which own them.
  std::promise<void> closed;
  asio::post(ioc_, [this, &closed] {
    for (auto& acceptor : acceptors_) {
      beast::error_code ec;
      acceptor->close(ec);
    }
    closed.set_value();
  });
  if (!io_threads_.empty()) closed.get_future().wait();
  {
    // Take references under the lock but use (and drop) them outside it: dropping the last
    // reference destroys the connection, which unregisters itself under the same lock.
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Connection* c : connections_set_) {
        // weak_from_this: a connection may be mid-destruction while still in the set.
        if (auto strong = c->weak_from_this().lock()) live.push_back(std::move(strong));
      }
    }
    for (auto& c : live) c->CloseIfIdle();
    live.clear();
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait_for(lock, absl::ToChronoNanoseconds(grace),
                      [this] { return connections_set_.empty(); });
  }
  work_.reset();
  ioc_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  workers_.join();
}

HttpServer::HttpServer(const Router& router, HttpServerOptions options, metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(router, options, registry)) {}

HttpServer::~HttpServer() { Shutdown(absl::ZeroDuration()); }

absl::Status HttpServer::Listen(std::string_view address) { return impl_->Listen(address); }

std::vector<std::string> HttpServer::BoundAddresses() const { return impl_->bound_; }

void HttpServer::Start() { impl_->Start(); }

void HttpServer::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

}  // namespace oriel::net
