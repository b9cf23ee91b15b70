// oriel-promqltest FILE... [--known-failures=LIST]: runs promqltest files through Oriel's PromQL
// engine. Prints each failure (expression, expected, actual) and skip (missing feature), then
// "N passed, N failed, N skipped" per file and in total (last line).
//
// With --known-failures, the exit status compares against the list (one `file:line` a line, '#'
// comments): a failure not on the list, or a listed case that now passes, makes it non-zero.
// Without it, any failure does.
#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "base/log.h"
#include "promqltest.h"

int main(int argc, char** argv) {
  oriel::log::SetLevel(oriel::log::Level::kWarn);
  std::string known_path;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--known-failures=", 0) == 0) {
      known_path = a.substr(17);
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: oriel-promqltest FILE... [--known-failures=LIST]\n");
    return 2;
  }
  std::set<std::string> known;
  if (!known_path.empty()) {
    std::ifstream in(known_path);
    if (!in) {
      std::fprintf(stderr, "cannot read known failures %s\n", known_path.c_str());
      return 2;
    }
    for (std::string l; std::getline(in, l);) {
      while (!l.empty() && (l.back() == ' ' || l.back() == '\r')) l.pop_back();
      if (!l.empty() && l[0] != '#') known.insert(l);
    }
  }
  int total_pass = 0, total_fail = 0, total_skip = 0;
  int unexpected = 0, fixed = 0;
  for (const auto& f : files) {
    int pass = 0, fail = 0, skip = 0;
    for (const auto& r : oriel::peer::RunTestFile(f)) {
      std::string key = r.file + ":" + std::to_string(r.line);
      switch (r.outcome) {
        case oriel::peer::Outcome::kPassed:
          ++pass;
          if (known.count(key)) {
            ++fixed;
            std::printf("NOW PASSES %s (remove it from the known failures)\n", key.c_str());
          }
          break;
        case oriel::peer::Outcome::kFailed:
          ++fail;
          if (!known_path.empty() && known.count(key)) {
            std::printf("KNOWN FAIL %s: %s\n", key.c_str(), r.detail.c_str());
          } else {
            ++unexpected;
            std::printf("FAIL %s: %s\n", key.c_str(), r.detail.c_str());
          }
          break;
        case oriel::peer::Outcome::kSkipped:
          ++skip;
          std::printf("SKIP %s: %s\n", key.c_str(), r.detail.c_str());
          break;
      }
    }
    std::printf("%s: %d passed, %d failed, %d skipped\n", f.c_str(), pass, fail, skip);
    total_pass += pass;
    total_fail += fail;
    total_skip += skip;
  }
  std::printf("total: %d passed, %d failed, %d skipped\n", total_pass, total_fail, total_skip);
  std::fflush(stdout);
  return (unexpected > 0 || fixed > 0) ? 1 : 0;
}
