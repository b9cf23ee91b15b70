#include "loadgen/otlp_metrics_generator.h"

#include <array>
#include <string>

namespace oriel::loadgen {
namespace {

namespace ocoll = opentelemetry::proto::collector::metrics::v1;
namespace ometrics = opentelemetry::proto::metrics::v1;
namespace ocommon = opentelemetry::proto::common::v1;

constexpr std::array<double, 14> kBounds = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                            0.5,   0.75, 1,     2.5,  5,     7.5, 10};

void SetString(ocommon::KeyValue* kv, std::string_view key, std::string_view value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
}

}  // namespace

std::span<const double> OtelDurationBounds() { return kBounds; }

OtlpMetricsGenerator::OtlpMetricsGenerator(const TraceGenerator& traces, uint64_t seed,
                                           int64_t start_ns)
    : traces_(traces), start_ns_(start_ns), rng_(seed ^ 0x3e7c5ULL) {
  const size_t n = traces_.resources().size();
  histograms_.resize(n);
  cpu_seconds_.resize(n, {0, 0});
  for (size_t r = 0; r < n; ++r) {
    histograms_[r].resize(traces_.OperationsOf(static_cast<int>(r)).size() * 2);
    for (HistogramState& h : histograms_[r]) h.buckets.assign(kBounds.size() + 1, 0);
  }
}

ocoll::ExportMetricsServiceRequest OtlpMetricsGenerator::Next(int64_t time_ns) {
  ocoll::ExportMetricsServiceRequest request;
  for (size_t r = 0; r < histograms_.size(); ++r) {
    const std::string& service = traces_.ServiceOf(static_cast<int>(r));
    const bool frontend = service == "frontend";
    const auto& ops = traces_.OperationsOf(static_cast<int>(r));
    ometrics::ResourceMetrics* rm = request.add_resource_metrics();
    *rm->mutable_resource() = traces_.resources()[r];
    ometrics::ScopeMetrics* sm = rm->add_scope_metrics();
    sm->mutable_scope()->set_name(frontend ? "io.opentelemetry.http" : "io.opentelemetry.grpc");

    ometrics::Metric* duration = sm->add_metrics();
    duration->set_name(frontend ? "http.server.request.duration" : "rpc.server.duration");
    duration->set_description(frontend ? "Duration of HTTP server requests."
                                       : "Measures the duration of inbound RPC.");
    duration->set_unit("s");
    ometrics::Histogram* hist = duration->mutable_histogram();
    hist->set_aggregation_temporality(ometrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
    for (size_t h = 0; h < histograms_[r].size(); ++h) {
      HistogramState& state = histograms_[r][h];
      const bool failed = h % 2 == 1;
      const int observations = static_cast<int>(rng_.Range(0, failed ? 3 : 60));
      for (int o = 0; o < observations; ++o) {
        const double x = rng_.LogNormal(failed ? 0.2 : 0.02, 0.8);
        size_t b = 0;
        while (b < kBounds.size() && x > kBounds[b]) ++b;
        ++state.buckets[b];
        ++state.count;
        state.sum += x;
      }
      ometrics::HistogramDataPoint* p = hist->add_data_points();
      p->set_start_time_unix_nano(start_ns_);
      p->set_time_unix_nano(time_ns);
      p->set_count(state.count);
      p->set_sum(state.sum);
      for (uint64_t c : state.buckets) p->add_bucket_counts(c);
      for (double bound : kBounds) p->add_explicit_bounds(bound);
      const std::string& op = ops[h / 2];
      if (frontend) {
        const size_t space = op.find(' ');
        SetString(p->add_attributes(), "http.request.method", op.substr(0, space));
        SetString(p->add_attributes(), "http.route", op.substr(space + 1));
        ocommon::KeyValue* code = p->add_attributes();
        code->set_key("http.response.status_code");
        code->mutable_value()->set_int_value(failed ? 500 : 200);
      } else {
        const size_t slash = op.rfind('/');
        SetString(p->add_attributes(), "rpc.system", "grpc");
        SetString(p->add_attributes(), "rpc.service", op.substr(0, slash));
        SetString(p->add_attributes(), "rpc.method", op.substr(slash + 1));
        ocommon::KeyValue* code = p->add_attributes();
        code->set_key("rpc.grpc.status_code");
        code->mutable_value()->set_int_value(failed ? 14 : 0);
      }
    }

    ometrics::Metric* cpu = sm->add_metrics();
    cpu->set_name("process.cpu.time");
    cpu->set_description("Total CPU seconds broken down by different CPU states.");
    cpu->set_unit("s");
    ometrics::Sum* sum = cpu->mutable_sum();
    sum->set_aggregation_temporality(ometrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
    sum->set_is_monotonic(true);
    for (int state = 0; state < 2; ++state) {
      cpu_seconds_[r][state] += rng_.Uniform() * (state == 0 ? 3 : 1);
      ometrics::NumberDataPoint* p = sum->add_data_points();
      p->set_start_time_unix_nano(start_ns_);
      p->set_time_unix_nano(time_ns);
      p->set_as_double(cpu_seconds_[r][state]);
      SetString(p->add_attributes(), "cpu.mode", state == 0 ? "user" : "system");
    }

    ometrics::Metric* memory = sm->add_metrics();
    memory->set_name("process.memory.usage");
    memory->set_description("The amount of physical memory in use.");
    memory->set_unit("By");
    ometrics::NumberDataPoint* p = memory->mutable_gauge()->add_data_points();
    p->set_time_unix_nano(time_ns);
    p->set_as_int(static_cast<int64_t>(2e8 + rng_.Uniform() * 1e8));
  }
  return request;
}

int64_t OtlpMetricsGenerator::CountPoints(const ocoll::ExportMetricsServiceRequest& request) {
  int64_t n = 0;
  for (const auto& rm : request.resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) {
      for (const auto& m : sm.metrics()) {
        n += m.gauge().data_points_size() + m.sum().data_points_size() +
             m.histogram().data_points_size();
      }
    }
  }
  return n;
}

}  // namespace oriel::loadgen
