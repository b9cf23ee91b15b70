// Label matchers (=, !=, =~, !~) as in PromQL and LogQL selectors. Regexes are RE2 syntax and
// fully anchored, as Prometheus does.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace oriel::model {

enum class MatchType : uint8_t { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

class Matcher {
 public:
  // Fails with a message naming the regex when it does not compile.
  [[nodiscard]] static absl::StatusOr<Matcher> Create(MatchType type, std::string name,
                                                      std::string value);
  Matcher(const Matcher&) = default;
  Matcher& operator=(const Matcher&) = default;
  ~Matcher();

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  // Whether a label value matches ("" stands for an absent label, as in Prometheus).
  bool Matches(std::string_view label_value) const;

  // `name="value"`, `name=~"re"`, ...
  std::string ToString() const;

 private:
  Matcher(MatchType type, std::string name, std::string value, std::shared_ptr<const re2::RE2> re)
      : type_(type), name_(std::move(name)), value_(std::move(value)), re_(std::move(re)) {}

  MatchType type_;
  std::string name_;
  std::string value_;
  // Shared: compiled once, immutable, copied cheaply with the matcher.
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace oriel::model
