#include "loadgen/trace_id_sample.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fmt/format.h"

namespace oriel::loadgen {

std::string HexId(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

void TraceIdSample::Add(const GeneratedTrace& trace, const TraceGenerator& generator) {
  if (trace.spans.empty() || capacity_ == 0) return;
  ++offered_;
  size_t slot = traces_.size();
  if (traces_.size() >= capacity_) {
    slot = static_cast<size_t>(rng_.Next() % static_cast<uint64_t>(offered_));
    if (slot >= capacity_) return;
  }
  const GeneratedSpan& root = trace.spans.front();
  SampledTrace sampled{HexId(root.span.trace_id()), generator.ServiceOf(root.resource),
                       root.span.name()};
  if (slot == traces_.size()) {
    traces_.push_back(std::move(sampled));
  } else {
    traces_[slot] = std::move(sampled);
  }
}

std::string TraceIdSample::Format() const {
  std::string out;
  for (const SampledTrace& t : traces_) {
    out += fmt::format("{}\t{}\t{}\n", t.trace_id, t.service, t.operation);
  }
  return out;
}

absl::Status TraceIdSample::WriteFile(const std::string& path) const {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return absl::UnavailableError(
        fmt::format("cannot open trace id file {}: {}", path, std::strerror(errno)));
  }
  const std::string text = Format();
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    return absl::UnavailableError(
        fmt::format("cannot write trace id file {}: {}", path, std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace oriel::loadgen
