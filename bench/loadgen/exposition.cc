#include "loadgen/exposition.h"

#include <algorithm>
#include <map>

#include "fmt/format.h"

namespace oriel::loadgen {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The family a series belongs to: a histogram's series share their base name.
std::string FamilyOf(std::string_view name, SeriesKind kind) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (kind != SeriesKind::kCounter && kind != SeriesKind::kGauge && EndsWith(name, suffix)) {
      return std::string(name.substr(0, name.size() - suffix.size()));
    }
  }
  return std::string(name);
}

const char* TypeOf(SeriesKind kind) {
  switch (kind) {
    case SeriesKind::kCounter:
      return "counter";
    case SeriesKind::kGauge:
      return "gauge";
    default:
      return "histogram";
  }
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

ExpositionWriter::ExpositionWriter(const NodeSeriesSet& set) : set_(set) {
  // Families in order of first appearance; within one, series in set order, which keeps each
  // histogram's buckets, _sum and _count together as the format requires.
  std::map<std::string, size_t> family_index;
  std::vector<std::string> families;
  std::vector<std::vector<size_t>> members;
  for (size_t i = 0; i < set.size(); ++i) {
    std::string_view name;
    for (const LabelRef& l : set.Labels(i)) {
      if (set.Symbol(l.name) == "__name__") name = set.Symbol(l.value);
    }
    const std::string family = FamilyOf(name, set.Kind(i));
    auto [it, inserted] = family_index.try_emplace(family, families.size());
    if (inserted) {
      families.push_back(family);
      members.emplace_back();
    }
    members[it->second].push_back(i);
  }
  for (size_t f = 0; f < families.size(); ++f) {
    for (size_t k = 0; k < members[f].size(); ++k) {
      const size_t i = members[f][k];
      Line line;
      line.series = i;
      if (k == 0) {
        line.header = fmt::format(
            "# HELP {0} Simulated by oriel-loadgen (node_exporter-like).\n# TYPE {0} {1}\n",
            families[f], TypeOf(set.Kind(i)));
      }
      std::string name, labels;
      for (const LabelRef& l : set.Labels(i)) {
        const std::string& n = set.Symbol(l.name);
        if (n == "__name__") {
          name = set.Symbol(l.value);
          continue;
        }
        if (!labels.empty()) labels += ',';
        labels += fmt::format("{}=\"{}\"", n, EscapeLabelValue(set.Symbol(l.value)));
      }
      line.prefix = labels.empty() ? name + " " : fmt::format("{}{{{}}} ", name, labels);
      bytes_estimate_ += line.header.size() + line.prefix.size() + 24;
      lines_.push_back(std::move(line));
    }
  }
}

std::string ExpositionWriter::Render() const {
  std::string out;
  out.reserve(bytes_estimate_);
  for (const Line& line : lines_) {
    out += line.header;
    out += line.prefix;
    // Shortest round-trip form; Prometheus parses it with strconv.ParseFloat.
    fmt::format_to(std::back_inserter(out), "{}\n", set_.Value(line.series));
  }
  return out;
}

}  // namespace oriel::loadgen
