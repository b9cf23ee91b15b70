#include "loadgen/otlp_metrics_generator.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace oriel::loadgen {
namespace {

namespace ometrics = opentelemetry::proto::metrics::v1;

constexpr int64_t kStart = 1'700'000'000'000'000'000;
constexpr int64_t kInterval = 15'000'000'000;

TEST(OtlpMetricsGeneratorTest, HistogramsAreCumulativeAndConsistent) {
  TraceGenerator traces({.services = 4, .replicas = 2, .seed = 3});
  OtlpMetricsGenerator gen(traces, 3, kStart);
  std::vector<uint64_t> previous_counts;
  for (int round = 1; round <= 4; ++round) {
    auto request = gen.Next(kStart + round * kInterval);
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest decoded;
    ASSERT_TRUE(decoded.ParseFromString(request.SerializeAsString()));
    ASSERT_EQ(decoded.resource_metrics_size(), 8);  // 4 services x 2 replicas
    std::vector<uint64_t> counts;
    std::set<std::string> names;
    for (const auto& rm : decoded.resource_metrics()) {
      for (const auto& sm : rm.scope_metrics()) {
        for (const auto& m : sm.metrics()) {
          names.insert(m.name());
          if (!m.has_histogram()) continue;
          EXPECT_EQ(m.histogram().aggregation_temporality(),
                    ometrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
          for (const auto& p : m.histogram().data_points()) {
            ASSERT_EQ(p.bucket_counts_size(), p.explicit_bounds_size() + 1);
            uint64_t total = 0;
            for (uint64_t c : p.bucket_counts()) total += c;
            EXPECT_EQ(total, p.count());
            EXPECT_EQ(p.start_time_unix_nano(), static_cast<uint64_t>(kStart));
            EXPECT_EQ(p.time_unix_nano(), static_cast<uint64_t>(kStart + round * kInterval));
            EXPECT_GE(p.attributes_size(), 3);
            counts.push_back(p.count());
          }
        }
      }
    }
    EXPECT_TRUE(names.count("http.server.request.duration"));
    EXPECT_TRUE(names.count("rpc.server.duration"));
    EXPECT_TRUE(names.count("process.cpu.time"));
    EXPECT_TRUE(names.count("process.memory.usage"));
    if (!previous_counts.empty()) {
      ASSERT_EQ(counts.size(), previous_counts.size());
      for (size_t i = 0; i < counts.size(); ++i) EXPECT_GE(counts[i], previous_counts[i]);
    }
    previous_counts = counts;
    EXPECT_EQ(OtlpMetricsGenerator::CountPoints(decoded),
              static_cast<int64_t>(counts.size()) + 8 * 3);  // + 2 cpu + 1 memory per resource
  }
}

TEST(OtlpMetricsGeneratorTest, SameSeedSameExport) {
  TraceGenerator traces({.seed = 5});
  OtlpMetricsGenerator a(traces, 5, kStart), b(traces, 5, kStart), c(traces, 6, kStart);
  const std::string x = a.Next(kStart + kInterval).SerializeAsString();
  EXPECT_EQ(x, b.Next(kStart + kInterval).SerializeAsString());
  EXPECT_NE(x, c.Next(kStart + kInterval).SerializeAsString());
}

}  // namespace
}  // namespace oriel::loadgen
