// Sends the same requests to Oriel's Pushgateway API (in process) and to the real
// prometheus-pushgateway binary, and compares the answers and the resulting /api/v1/metrics.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "fmt/format.h"
#include "ingest/pushgateway/pushgateway_handler.h"

namespace oriel::ingest {
namespace {

constexpr char kPushgatewayBinary[] = "/usr/bin/prometheus-pushgateway";

struct Answer {
  int status = 0;
  std::string body;
};

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A minimal HTTP/1.1 client: one request per connection, Connection: close.
std::optional<Answer> HttpCall(int port, const std::string& method, const std::string& path,
                               const std::string& body, const std::string& content_type = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  std::string req = fmt::format(
      "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n{}\r\n{}",
      method, path, body.size(),
      content_type.empty() ? "" : fmt::format("Content-Type: {}\r\n", content_type), body);
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, 0);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t head_end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || head_end == std::string::npos) return std::nullopt;
  Answer a;
  a.status = std::stoi(raw.substr(9, 3));
  std::string head = raw.substr(0, head_end);
  a.body = raw.substr(head_end + 4);
  if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
    std::string decoded;
    size_t pos = 0;
    while (pos < a.body.size()) {
      size_t eol = a.body.find("\r\n", pos);
      if (eol == std::string::npos) break;
      size_t len = std::stoul(a.body.substr(pos, eol - pos), nullptr, 16);
      if (len == 0) break;
      decoded += a.body.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    a.body = decoded;
  }
  return a;
}

// The groups of a /api/v1/metrics body, each as its JSON text with times blanked, sorted (the
// Pushgateway lists groups in map order).
std::vector<std::string> NormalizedGroups(const std::string& json) {
  std::string s =
      std::regex_replace(json, std::regex("\"time_stamp\":\"[^\"]*\""), "\"time_stamp\":\"T\"");
  s = std::regex_replace(s, std::regex("\"value\":\"1\\.[0-9]+e\\+09\""), "\"value\":\"NOW\"");
  std::vector<std::string> groups;
  size_t start = s.find("\"data\":[");
  if (start == std::string::npos) return groups;
  int depth = 0;
  bool in_string = false;
  size_t begin = 0;
  for (size_t i = start + 8; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      if (depth++ == 0) begin = i;
    } else if (c == '}') {
      if (--depth == 0) groups.push_back(s.substr(begin, i - begin + 1));
    } else if (c == ']' && depth == 0) {
      break;
    }
  }
  std::sort(groups.begin(), groups.end());
  return groups;
}

// Two delimited MetricFamily messages: a counter with a help text and a classic histogram.
std::string DelimitedBody(bool with_timestamp = false) {
  namespace pb = io::prometheus::client;
  std::vector<pb::MetricFamily> fams(2);
  fams[0].set_name("requests_total");
  fams[0].set_help("Requests.");
  fams[0].set_type(pb::COUNTER);
  auto* m = fams[0].add_metric();
  auto* lp = m->add_label();
  lp->set_name("path");
  lp->set_value("/a");
  m->mutable_counter()->set_value(7);
  if (with_timestamp) m->set_timestamp_ms(1000);
  fams[1].set_name("latency");
  fams[1].set_type(pb::HISTOGRAM);
  auto* h = fams[1].add_metric()->mutable_histogram();
  h->set_sample_count(4);
  h->set_sample_sum(2.5);
  auto* b = h->add_bucket();
  b->set_upper_bound(0.5);
  b->set_cumulative_count(3);
  std::string out;
  for (const auto& f : fams) {
    std::string bytes = f.SerializeAsString();
    uint32_t n = static_cast<uint32_t>(bytes.size());
    while (n >= 0x80) {
      out.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    out.push_back(static_cast<char>(n));
    out += bytes;
  }
  return out;
}

class NullWriter : public tsdb::MetricsWriter {
 public:
  absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch) override {
    return tsdb::WriteResult{};
  }
};

class PushgatewayPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPushgatewayBinary)) {
      GTEST_SKIP() << "prometheus-pushgateway is not installed at " << kPushgatewayBinary;
    }
    dir_ = std::filesystem::temp_directory_path() / fmt::format("promingest-peer-{}", ::getpid());
    std::filesystem::create_directories(dir_);
    port_ = FreePort();
    std::string listen = fmt::format("--web.listen-address=127.0.0.1:{}", port_);
    std::string persistence = fmt::format("--persistence.file={}", (dir_ / "pg.db").string());
    pid_ = ::fork();
    if (pid_ == 0) {
      // Its error log would repeat every refused push on the test's output.
      int null_fd = ::open("/dev/null", O_WRONLY);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
      ::execl(kPushgatewayBinary, kPushgatewayBinary, listen.c_str(), persistence.c_str(),
              "--web.enable-admin-api", "--log.level=error", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_GT(pid_, 0);
    for (int i = 0; i < 100; ++i) {
      auto ready = HttpCall(port_, "GET", "/-/ready", "");
      if (ready && ready->status == 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto ready = HttpCall(port_, "GET", "/-/ready", "");
    ASSERT_TRUE(ready && ready->status == 200) << "the real pushgateway did not start";

    store_ = *PushgatewayStore::Open("", writer_);
    RegisterPushgatewayRoutes(router_, *store_);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  Answer Ours(const std::string& method, const std::string& path, const std::string& body,
              const std::string& content_type = "") {
    net::HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    if (!content_type.empty()) req.headers.Add("Content-Type", content_type);
    net::HttpResponse res;
    router_.Dispatch(req, res);
    return {res.status, res.body};
  }

  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  NullWriter writer_;
  std::unique_ptr<PushgatewayStore> store_;
  net::Router router_;
};

TEST_F(PushgatewayPeerTest, SameAnswersAndSameState) {
  struct Request {
    std::string method, path, body;
    std::string content_type = "";
  };
  const std::string proto_type =
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited";
  const std::vector<Request> requests = {
      {"PUT", "/metrics/job/a", "some_metric 1 1234\n"},
      {"PUT", "/metrics/job/a/instance/i1", "some_metric{x=\"1\"} 1\n"},
      {"PUT", "/metrics/job/b", "# TYPE some_metric counter\nsome_metric{x=\"1\"} 1\n"},
      {"PUT", "/metrics/job/b", "some_metric{x=\"1\" 1\n"},
      {"PUT", "/metrics/job/a/odd", "x 1\n"},
      {"PUT", "/metrics/job/a/bad-name/v", "x 1\n"},
      {"PUT", "/metrics/job@base64/YWJj/l@base64/=", "x 1\n"},
      {"PUT", "/metrics/job/a/l/", "x 1\n"},
      {"PUT", "/metrics/job/a/", "x 1\n"},
      {"PUT", "/metrics/job/a/__x/1", "x 1\n"},
      {"PUT", "/metrics/job/c/l/1", "x{job=\"zz\",l=\"9\"} 1\n"},
      {"PUT", "/metrics/job/t",
       "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
       "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"
       "# HELP g some \\\\ help\\n <x> & y\n# TYPE g gauge\ng{a=\"q\\\"x\\ny\\\\\"} NaN\n"
       "g{a=\"2\"} +Inf\n"},
      {"POST", "/metrics/job/t", "# TYPE g2 gauge\ng2 5\n"},
      {"PUT", "/metrics/job/u", "# TYPE g counter\ng 5\n"},
      {"PUT", "/metrics/job/v", "k 1\nm 2\nk 3\n"},
      {"PUT", "/metrics/job/v", "# TYPE g gauge\n# TYPE g gauge\n"},
      {"PUT", "/metrics/job/v", "x 1e\n"},
      {"PUT", "/metrics/job/v", "x{a=\"\\q\"} 1\n"},
      {"PUT", "/metrics/job/v", "x 1 \n"},
      {"PUT", "/metrics/job/w", "# HELP z x\nz{a=\"1\"} 1.5e-7\n"},
      {"PUT", "/metrics/job/empty", ""},
      {"DELETE", "/metrics/job/a/instance/i1", ""},
      {"DELETE", "/metrics/job/zzz", ""},
      {"POST", "/metrics/job/w", "# TYPE q summary\nq{quantile=\"0.99\"} 12345678\nq_count 1\n"},
      {"PUT", "/metrics/job/t2", "# TYPE g2 counter\ng2 1\n"},
      {"PUT", "/metrics/job/t", "# TYPE g2 counter\ng2 1\n"},
      {"PUT", "/metrics/job@base64/L3Zhci90bXA/instance/x", "up 1\n"},
      {"PUT", "/metrics/job/proto/instance/p", DelimitedBody(), proto_type},
      {"PUT", "/metrics/job/proto2", DelimitedBody().substr(0, 5), proto_type},
      {"PUT", "/metrics/job/proto3", DelimitedBody(/*with_timestamp=*/true), proto_type},
  };
  for (const Request& r : requests) {
    SCOPED_TRACE(r.method + " " + r.path + " " + r.body);
    auto theirs = HttpCall(port_, r.method, r.path, r.body, r.content_type);
    ASSERT_TRUE(theirs.has_value());
    Answer ours = Ours(r.method, r.path, r.body, r.content_type);
    EXPECT_EQ(ours.status, theirs->status) << ours.body << " vs " << theirs->body;
    const std::string prefix = "pushed metrics are invalid or inconsistent with existing metrics: ";
    if (theirs->body.starts_with(prefix) &&
        theirs->body.find("must not have timestamps") == std::string::npos) {
      // The consistency messages come from client_golang's registry; we word ours ourselves.
      EXPECT_TRUE(ours.body.starts_with(prefix)) << ours.body;
    } else if (!r.content_type.empty() && theirs->status == 400) {
      // Protobuf decoding errors come from Go's protobuf library; only the status must match.
      EXPECT_FALSE(ours.body.empty());
    } else {
      EXPECT_EQ(ours.body, theirs->body);
    }
  }
  auto theirs = HttpCall(port_, "GET", "/api/v1/metrics", "");
  ASSERT_TRUE(theirs.has_value());
  auto ours = Ours("GET", "/api/v1/metrics", "");
  auto their_groups = NormalizedGroups(theirs->body);
  auto our_groups = NormalizedGroups(ours.body);
  EXPECT_FALSE(their_groups.empty()) << theirs->body;
  ASSERT_EQ(our_groups.size(), their_groups.size());
  for (size_t i = 0; i < our_groups.size(); ++i) EXPECT_EQ(our_groups[i], their_groups[i]);

  auto wipe_theirs = HttpCall(port_, "PUT", "/api/v1/admin/wipe", "");
  ASSERT_TRUE(wipe_theirs.has_value());
  EXPECT_EQ(Ours("PUT", "/api/v1/admin/wipe", "").status, wipe_theirs->status);
}

}  // namespace
}  // namespace oriel::ingest
