#include "net/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <mutex>
#include <thread>

#include "base/metrics.h"
#include "http_client.h"
#include "net/compression.h"

namespace oriel::net {
namespace {

using oriel::testing::Fetch;
using oriel::testing::HttpCall;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options) {
    router_.Handle("POST", "/echo",
                   [](HttpRequest& req, HttpResponse& res) { res.SetText(200, req.body); });
    router_.Handle("GET", "/big", [](HttpRequest&, HttpResponse& res) {
      res.SetText(200, std::string(10000, 'z'));
    });
    router_.Handle("GET", "/slow", [](HttpRequest&, HttpResponse& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
      res.SetText(200, "done");
    });
    server_ = std::make_unique<HttpServer>(router_, options, registry_);
    ASSERT_TRUE(server_->Listen("127.0.0.1:0").ok());
    server_->Start();
    base_ = "http://" + server_->BoundAddresses()[0];
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  // Sends raw bytes on one connection and reads until the server closes it.
  std::string RawExchange(const std::string& bytes) { return RawExchangeInPieces({bytes}, {}); }

  // Like RawExchange, but writes `pieces` one by one with `pause` between them, so that the
  // server sees them in separate reads.
  std::string RawExchangeInPieces(const std::vector<std::string>& pieces,
                                  std::chrono::milliseconds pause) {
    std::string address = server_->BoundAddresses()[0];
    int port = std::stoi(address.substr(address.rfind(':') + 1));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (i > 0) std::this_thread::sleep_for(pause);
      const std::string& piece = pieces[i];
      // Stops at the first failure: the server may close early (413, timeouts) on purpose.
      if (send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) != (ssize_t)piece.size()) break;
    }
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
  }

  metrics::Registry registry_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer({});
  std::string out = RawExchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\ndef");
  EXPECT_EQ(Count(out, "HTTP/1.1 200 OK"), 2u) << out;
  EXPECT_NE(out.find("abc"), std::string::npos);
  EXPECT_NE(out.find("def"), std::string::npos);
}

// A large body, once written to the socket, is handed to the next answer that asks for a buffer
// (NewBody) instead of being freed, also when it went out gzipped.
TEST_F(HttpServerTest, LargeBodyBufferIsReusedByTheNextAnswer) {
  std::vector<size_t> capacities;
  std::mutex mu;
  router_.Handle("GET", "/large", [&](HttpRequest&, HttpResponse& res) {
    std::string body = res.NewBody();
    {
      std::lock_guard<std::mutex> lock(mu);
      capacities.push_back(body.capacity());
    }
    body.assign(2 << 20, 'q');
    res.SetText(200, std::move(body));
  });
  StartServer({});
  auto fetch = [&](bool gzip) {
    auto res = Fetch({.url = base_ + "/large", .decode_gzip = gzip});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, std::string(2 << 20, 'q'));
    std::lock_guard<std::mutex> lock(mu);
    return capacities.back();
  };
  EXPECT_LT(fetch(true), size_t{2} << 20);
  // Gzipped, the plain body is given back before the write, so before the client has the answer.
  EXPECT_GE(fetch(false), size_t{2} << 20);
  // Plain, it is given back once written, which may be just after the client has read it.
  bool reused = false;
  for (int i = 0; i < 20 && !reused; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    reused = fetch(false) >= (size_t{2} << 20);
  }
  EXPECT_TRUE(reused);
}

TEST_F(HttpServerTest, OversizedBodyGets413) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  StartServer(options);
  auto res = Fetch({.method = "POST", .url = base_ + "/echo", .body = std::string(5000, 'a')});
  EXPECT_EQ(res.status, 413) << res.error;
  EXPECT_NE(res.body.find("exceeds the limit of 1000 bytes"), std::string::npos) << res.body;
  // Chunked bodies have no declared length: the limit still holds.
  auto chunked = Fetch({.method = "POST",
                        .url = base_ + "/echo",
                        .headers = {"Transfer-Encoding: chunked"},
                        .body = std::string(5000, 'a')});
  EXPECT_EQ(chunked.status, 413) << chunked.error;
  // The server still answers afterwards.
  auto ok = Fetch({.method = "POST", .url = base_ + "/echo", .body = "small"});
  EXPECT_EQ(ok.status, 200);
}

TEST_F(HttpServerTest, BodySplitAcrossManySmallWritesArrivesWhole) {
  StartServer({});
  std::string body;
  for (int i = 0; i < 3000; ++i) body += static_cast<char>('a' + i % 26);
  std::vector<std::string> pieces = {
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body.substr(0, 7)};
  for (size_t pos = 7; pos < body.size(); pos += 331) pieces.push_back(body.substr(pos, 331));
  std::string out = RawExchangeInPieces(pieces, std::chrono::milliseconds(5));
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos) << out;
  EXPECT_NE(out.find(body), std::string::npos) << out;
}

TEST_F(HttpServerTest, PipelinedRequestAfterALargeBodyIsServed) {
  StartServer({});
  std::string big(200000, 'b');
  std::string out = RawExchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) +
      "\r\n\r\n" + big +
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz");
  EXPECT_EQ(Count(out, "HTTP/1.1 200 OK"), 2u);
  EXPECT_NE(out.find(big + "HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 3), "xyz");
}

TEST_F(HttpServerTest, BodyExactlyAtTheLimitIsAccepted) {
  HttpServerOptions options;
  options.max_body_bytes = 100000;
  StartServer(options);
  auto at = Fetch({.method = "POST", .url = base_ + "/echo", .body = std::string(100000, 'a')});
  EXPECT_EQ(at.status, 200) << at.error;
  EXPECT_EQ(at.body.size(), 100000u);
  auto over = Fetch({.method = "POST", .url = base_ + "/echo", .body = std::string(100001, 'a')});
  EXPECT_EQ(over.status, 413) << over.error;
}

TEST_F(HttpServerTest, BodyShorterThanItsContentLengthTimesOut) {
  HttpServerOptions options;
  options.read_timeout = absl::Milliseconds(300);
  StartServer(options);
  auto start = std::chrono::steady_clock::now();
  std::string out =
      RawExchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nonly this");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(out, "");  // dropped unanswered, the handler never ran
}

TEST_F(HttpServerTest, SlowBodyIsCutAtTheReadTimeoutNotPerRead) {
  // The read timeout bounds the whole body, so a client trickling bytes cannot hold it forever.
  HttpServerOptions options;
  options.read_timeout = absl::Milliseconds(400);
  StartServer(options);
  std::vector<std::string> pieces = {
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n"};
  for (int i = 0; i < 30; ++i) pieces.push_back("a");
  auto start = std::chrono::steady_clock::now();
  std::string out = RawExchangeInPieces(pieces, std::chrono::milliseconds(100));
  EXPECT_EQ(out.find("HTTP/1.1 200"), std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(HttpServerTest, GzipRequestBodiesAreDecodedAndBombsRejected) {
  HttpServerOptions options;
  options.max_decompressed_body_bytes = 1 << 20;
  StartServer(options);
  auto res = Fetch({.method = "POST",
                    .url = base_ + "/echo",
                    .headers = {"Content-Encoding: gzip"},
                    .body = Gzip("hello, gzip")});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "hello, gzip");
  auto bomb = Fetch({.method = "POST",
                     .url = base_ + "/echo",
                     .headers = {"Content-Encoding: gzip"},
                     .body = Gzip(std::string(8 << 20, '\0'))});
  EXPECT_EQ(bomb.status, 413);
  auto corrupt = Fetch({.method = "POST",
                        .url = base_ + "/echo",
                        .headers = {"Content-Encoding: gzip"},
                        .body = "definitely not gzip"});
  EXPECT_EQ(corrupt.status, 400);
  EXPECT_NE(corrupt.body.find("cannot decompress body"), std::string::npos);
}

TEST_F(HttpServerTest, GzipResponsesOnlyWhenAsked) {
  StartServer({});
  auto plain = Fetch({.url = base_ + "/big"});
  EXPECT_EQ(plain.Header("content-encoding"), "");
  EXPECT_EQ(plain.body.size(), 10000u);
  auto raw = Fetch({.url = base_ + "/big", .headers = {"Accept-Encoding: gzip"}});
  EXPECT_EQ(raw.Header("content-encoding"), "gzip");
  EXPECT_LT(raw.body.size(), 1000u);
  auto decoded = Inflate(raw.body, ContentCoding::kGzip, 1 << 20);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, std::string(10000, 'z'));
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  StartServer({});
  std::string out = RawExchange("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 400"), std::string::npos) << out;
}

TEST_F(HttpServerTest, SilentClientIsDisconnectedAfterIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout = absl::Milliseconds(200);
  StartServer(options);
  auto start = std::chrono::steady_clock::now();
  std::string out = RawExchange("");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(out.empty());
}

TEST_F(HttpServerTest, ShutdownFinishesInFlightRequests) {
  StartServer({});
  auto pending = std::async(std::launch::async, [&] { return Fetch({.url = base_ + "/slow"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_->Shutdown(absl::Seconds(5));
  auto res = pending.get();
  EXPECT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.body, "done");
  // New connections are refused once stopped.
  EXPECT_EQ(Fetch({.url = base_ + "/big", .timeout_ms = 2000}).status, 0);
}

TEST_F(HttpServerTest, CountsRequestsByHandlerAndCode) {
  StartServer({});
  Fetch({.url = base_ + "/big"});
  Fetch({.url = base_ + "/missing"});
  std::string text = registry_.Expose();
  EXPECT_NE(text.find("oriel_http_requests_total{handler=\"/big\",code=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("oriel_http_requests_total{handler=\"other\",code=\"404\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace oriel::net
