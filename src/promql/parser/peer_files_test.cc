// Parses every eval expression of the peer promqltest files ($ORIEL_SHARED_DIR/peer-tests/promql)
// with every experimental feature on, as Prometheus' own test runner does.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "promql/parser/parser.h"

namespace oriel::promql {
namespace {

struct EvalCase {
  std::string file;
  int line = 0;
  std::string expr;
  bool expect_fail = false;
  // `expect fail msg: ...`: Prometheus compares the message exactly, so it cannot be a parse
  // error (those carry a "<line>:<col>: parse error: " prefix).
  bool expect_fail_msg = false;
};

// `eval[_fail|_warn|_info|_ordered] instant at <t> <expr>` or `... range from <a> to <b> step
// <s> <expr>`; returns the expression or "" when the line is not an eval.
std::string ExprOfEvalLine(const std::string& line, bool& is_fail) {
  if (line.rfind("eval", 0) != 0) return "";
  size_t sp = line.find(' ');
  if (sp == std::string::npos) return "";
  std::string cmd = line.substr(0, sp);
  if (cmd != "eval" && cmd != "eval_fail" && cmd != "eval_warn" && cmd != "eval_info" &&
      cmd != "eval_ordered") {
    return "";
  }
  is_fail = cmd == "eval_fail";
  std::vector<std::string> words;
  size_t pos = sp + 1;
  // Skip a fixed number of words: "instant at <t>" (3) or "range from <a> to <b> step <s>" (6).
  auto next_word = [&]() {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    size_t end = line.find(' ', pos);
    if (end == std::string::npos) end = line.size();
    std::string w = line.substr(pos, end - pos);
    pos = end;
    return w;
  };
  std::string kind = next_word();
  int skip = kind == "instant" ? 2 : kind == "range" ? 6 : -1;
  if (skip < 0) return "";
  for (int i = 0; i < skip; ++i) next_word();
  while (pos < line.size() && line[pos] == ' ') ++pos;
  return line.substr(pos);
}

TEST(PeerFilesTest, EveryEvalExpressionParses) {
  const char* shared = std::getenv("ORIEL_SHARED_DIR");
  if (shared == nullptr || *shared == '\0') {
    GTEST_SKIP() << "ORIEL_SHARED_DIR is not set (ctest sets it): no peer test files to parse";
  }
  std::filesystem::path dir = std::filesystem::path(shared) / "peer-tests" / "promql";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " does not exist";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());

  std::vector<EvalCase> cases;
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      bool is_fail = false;
      std::string expr = ExprOfEvalLine(line, is_fail);
      if (!expr.empty()) {
        cases.push_back({path.filename().string(), n, expr, is_fail});
      } else if (!cases.empty()) {
        // `expect fail` on the lines after an eval marks it as expected to fail.
        std::string trimmed = line.substr(std::min(line.find_first_not_of(" \t"), line.size()));
        if (trimmed.rfind("expect fail", 0) == 0) cases.back().expect_fail = true;
        if (trimmed.rfind("expect fail msg", 0) == 0) cases.back().expect_fail_msg = true;
      }
    }
  }
  ASSERT_GT(cases.size(), 100u) << "too few eval lines found in " << dir;

  int parsed = 0, failed = 0, fail_cases = 0, fail_cases_rejected = 0;
  std::string failures;
  for (const EvalCase& c : cases) {
    auto expr = ParseExpr(c.expr, ParseOptions::All());
    if (c.expect_fail) {
      ++fail_cases;
      if (!expr.ok()) {
        ++fail_cases_rejected;
        std::printf("  expected-fail eval rejected by the parser: %s:%d: %s\n", c.file.c_str(),
                    c.line, std::string(expr.status().message()).c_str());
        if (c.expect_fail_msg) {
          ++failed;
          failures +=
              c.file + ":" + std::to_string(c.line) + ": `" + c.expr +
              "` must fail when run, not at parse time: " + std::string(expr.status().message()) +
              "\n";
        }
      }
      continue;
    }
    if (expr.ok()) {
      ++parsed;
      // The canonical form must parse back to itself.
      std::string printed = (*expr)->String();
      auto again = ParseExpr(printed, ParseOptions::All());
      if (!again.ok() || (*again)->String() != printed) {
        ++failed;
        failures +=
            c.file + ":" + std::to_string(c.line) + ": round trip of `" + printed + "` gave " +
            (again.ok() ? (*again)->String() : std::string(again.status().message())) + "\n";
        --parsed;
      }
    } else {
      ++failed;
      failures += c.file + ":" + std::to_string(c.line) + ": `" + c.expr +
                  "`: " + std::string(expr.status().message()) + "\n";
    }
  }
  std::printf(
      "peer eval expressions: %d parsed and round-tripped, %d failed (of %d expected to "
      "succeed); %d of %d expected-fail evals rejected at parse time\n",
      parsed, failed, parsed + failed, fail_cases_rejected, fail_cases);
  EXPECT_EQ(failed, 0) << failures;
}

}  // namespace
}  // namespace oriel::promql
