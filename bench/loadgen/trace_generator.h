// The traces side of the simulated application: a frontend calling backend services, a
// PostgreSQL database and a Kafka queue. Each trace is a tree of OTLP spans with realistic
// attributes, log-normal latencies, an error rate (errors carry an "exception" span event with a
// stack trace and propagate to the root) and occasional incidents where one service slows down
// and fails. Same options and seed, same traces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/rng.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace oriel::loadgen {

struct TraceOptions {
  int services = 8;   // including the frontend; at least 2
  int replicas = 3;   // instances per service, each its own OTLP resource
  int min_spans = 5;  // spans per trace, uniform in [min_spans, max_spans]
  int max_spans = 50;
  int min_attributes = 10;  // attributes per span, uniform in [min_attributes, max_attributes]
  int max_attributes = 30;
  double error_rate = 0.02;  // share of traces with a failing span
  // Every `incident_period_s` of span time, one service is degraded for `incident_length_s`:
  // five times slower and failing a quarter of its traces. 0 disables incidents.
  int64_t incident_period_s = 600;
  int64_t incident_length_s = 60;
  uint64_t seed = 1;
};

struct GeneratedSpan {
  int resource;  // index into TraceGenerator::resources()
  opentelemetry::proto::trace::v1::Span span;
};

struct GeneratedTrace {
  std::vector<GeneratedSpan> spans;  // the root first, every parent before its children
  bool error = false;
  int error_span = -1;  // index of the span where the error started, -1 when none
};

class TraceGenerator {
 public:
  explicit TraceGenerator(const TraceOptions& options);

  // One trace whose root span starts at `start_ns` (unix nanoseconds). Not thread-safe.
  GeneratedTrace Next(int64_t start_ns);

  const std::vector<opentelemetry::proto::resource::v1::Resource>& resources() const {
    return resources_;
  }
  // The service name of resource `r`.
  const std::string& ServiceOf(int resource) const {
    return services_[resource / options_.replicas].name;
  }
  // The operations (HTTP routes of the frontend, RPC methods of a backend) of resource `r`.
  const std::vector<std::string>& OperationsOf(int resource) const {
    return services_[resource / options_.replicas].operations;
  }
  // The service degraded at `time_ns`, or -1 outside incidents.
  int DegradedService(int64_t time_ns) const;

 private:
  struct Service {
    std::string name;
    std::string language;  // "go", "java", "python", "nodejs", "dotnet"
    std::vector<std::string> operations;
    double median_ms;
  };
  struct Node;  // a span under construction

  void AddAttributes(const Node& node, GeneratedTrace& trace, int index);
  int64_t Layout(std::vector<Node>& nodes, int index, int64_t start_ns, int degraded);

  TraceOptions options_;
  std::vector<Service> services_;
  std::vector<opentelemetry::proto::resource::v1::Resource> resources_;
  Rng rng_;
};

}  // namespace oriel::loadgen
