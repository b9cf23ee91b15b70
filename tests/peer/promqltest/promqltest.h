// A runner for Prometheus' promqltest files (promql/promqltest/testdata): load/clear/eval
// commands, run through Oriel's PromQL engine over the real metrics engine (tsdb::DB), with the
// reference runner's extra checks (every instant eval again with `@ <t>` on its selectors and as
// a 3-step range query).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oriel::peer {

enum class Outcome { kPassed, kFailed, kSkipped };

struct CaseResult {
  std::string file;  // base name, e.g. "functions.test"
  int line = 0;      // of the eval command
  Outcome outcome = Outcome::kPassed;
  std::string detail;  // failure: expression, expected, actual; skip: the missing feature
};

// Runs one file; a file that cannot be read or has a malformed command yields one failed case
// at the offending line.
std::vector<CaseResult> RunTestFile(const std::string& path);

}  // namespace oriel::peer
