#include "loadgen/exporter_server.h"

#include <curl/curl.h>

#include "gtest/gtest.h"
#include "loadgen/exposition.h"

namespace oriel::loadgen {
namespace {

size_t Append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct Answer {
  long code = 0;
  std::string body;
  std::string content_type;
};

Answer Fetch(const std::string& url, bool post = false) {
  Answer a;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  if (post) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "x");
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.code);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) a.content_type = type;
  }
  curl_easy_cleanup(curl);
  return a;
}

TEST(ExporterServerTest, ServesMetricsAndOnlyMetrics) {
  int renders = 0;
  auto server = ExporterServer::Start("127.0.0.1:0", [&] {
    ++renders;
    return "# TYPE up gauge\nup " + std::to_string(renders) + "\n";
  });
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());

  Answer first = Fetch(base + "/metrics");
  EXPECT_EQ(first.code, 200);
  EXPECT_EQ(first.body, "# TYPE up gauge\nup 1\n");
  EXPECT_EQ(first.content_type, kExpositionContentType);
  EXPECT_EQ(Fetch(base + "/metrics?x=1").body, "# TYPE up gauge\nup 2\n") << "rendered per scrape";
  EXPECT_EQ(Fetch(base + "/").code, 404);
  EXPECT_EQ(Fetch(base + "/metrics", /*post=*/true).code, 405);
  EXPECT_EQ((*server)->scrapes(), 2);
  (*server)->Stop();
  EXPECT_EQ(Fetch(base + "/metrics").code, 0) << "closed after Stop";
}

TEST(ExporterServerTest, BadAddressesAreErrors) {
  EXPECT_FALSE(ExporterServer::Start("127.0.0.1", [] { return ""; }).ok());
  EXPECT_FALSE(ExporterServer::Start("127.0.0.1:notaport", [] { return ""; }).ok());
  auto first = ExporterServer::Start("127.0.0.1:0", [] { return ""; });
  ASSERT_TRUE(first.ok());
  const auto second =
      ExporterServer::Start("127.0.0.1:" + std::to_string((*first)->port()), [] { return ""; });
  EXPECT_FALSE(second.ok()) << "port in use";
}

}  // namespace
}  // namespace oriel::loadgen
