#include "ingest/pushgateway/text_parser.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "base/status.h"
#include "fmt/format.h"

namespace oriel::ingest {
namespace {

namespace pb = io::prometheus::client;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsLabelStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsLabelChar(char c) { return IsLabelStart(c) || (c >= '0' && c <= '9'); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid, as in Go.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += n;
  }
  return true;
}

// Go's %q of a string, which the Pushgateway's messages use.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  return out + "\"";
}

// Go's %q of a byte: a quoted character literal.
std::string GoQuoteByte(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (ch == '\'') return "'\\''";
  if (ch == '\\') return "'\\\\'";
  if (ch == '\n') return "'\\n'";
  if (ch == '\t') return "'\\t'";
  if (c < 0x20 || c >= 0x7f) return fmt::format("'\\x{:02x}'", c);
  return fmt::format("'{}'", ch);
}

uint64_t ToUint64(double v) {
  // Go's uint64(float) conversion, without C++'s undefined behaviour out of range.
  if (!(v >= 0)) return 0;
  if (v >= 18446744073709551615.0) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(v);
}

std::string_view StripSuffix(std::string_view name, std::string_view suffix) {
  if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
    return name.substr(0, name.size() - suffix.size());
  }
  return {};
}

class TextParser {
 public:
  explicit TextParser(std::string_view in) : in_(in) {}

  absl::StatusOr<std::vector<pb::MetricFamily>> Parse() {
    while (true) {
      ++line_;
      // Start of a line: the only place where the end of the input is not an error.
      if (!Read()) break;
      while (IsBlank(cur_)) {
        if (!Read()) break;
      }
      if (eof_) break;
      absl::Status st;
      if (cur_ == '#') {
        st = Comment();
      } else if (cur_ != '\n') {
        st = Sample();
      }
      if (!st.ok()) return st;
    }
    std::vector<pb::MetricFamily> out;
    for (auto& mf : families_) {
      if (mf.metric_size() > 0) out.push_back(std::move(mf));
    }
    return out;
  }

 private:
  bool Read() {
    if (pos_ >= in_.size()) {
      eof_ = true;
      return false;
    }
    cur_ = in_[pos_++];
    return true;
  }

  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        fmt::format("text format parsing error in line {}: {}", line_, what));
  }
  absl::Status Eof() const { return Error("unexpected end of input stream"); }

  // Reads the next byte and skips blanks and tabs.
  absl::Status SkipBlankTab() {
    do {
      if (!Read()) return Eof();
    } while (IsBlank(cur_));
    return absl::OkStatus();
  }
  absl::Status SkipBlankTabIfCurrentBlankTab() {
    if (IsBlank(cur_)) return SkipBlankTab();
    return absl::OkStatus();
  }

  // Token readers start at the current byte and stop at the first byte not taken.
  absl::Status ReadUntilWhitespace(std::string* token) {
    token->clear();
    while (!IsBlank(cur_) && cur_ != '\n') {
      token->push_back(cur_);
      if (!Read()) return Eof();
    }
    return absl::OkStatus();
  }
  absl::Status ReadUntilNewline(bool escapes, std::string* token) {
    token->clear();
    bool escaped = false;
    while (true) {
      if (escapes && escaped) {
        if (cur_ == '\\') {
          token->push_back('\\');
        } else if (cur_ == 'n') {
          token->push_back('\n');
        } else {
          return Error(fmt::format("invalid escape sequence '\\{}'", cur_));
        }
        escaped = false;
      } else if (cur_ == '\n') {
        return absl::OkStatus();
      } else if (escapes && cur_ == '\\') {
        escaped = true;
      } else {
        token->push_back(cur_);
      }
      if (!Read()) return Eof();
    }
  }
  absl::Status ReadMetricName(std::string* token) {
    token->clear();
    if (!IsNameStart(cur_)) return absl::OkStatus();
    while (true) {
      token->push_back(cur_);
      if (!Read()) return Eof();
      if (!IsNameChar(cur_)) return absl::OkStatus();
    }
  }
  absl::Status ReadLabelName(std::string* token) {
    token->clear();
    if (!IsLabelStart(cur_)) return absl::OkStatus();
    while (true) {
      token->push_back(cur_);
      if (!Read()) return Eof();
      if (!IsLabelChar(cur_)) return absl::OkStatus();
    }
  }
  absl::Status ReadLabelValue(std::string* token) {
    token->clear();
    bool escaped = false;
    while (true) {
      if (!Read()) return Eof();
      if (escaped) {
        if (cur_ == '"' || cur_ == '\\') {
          token->push_back(cur_);
        } else if (cur_ == 'n') {
          token->push_back('\n');
        } else {
          return Error(fmt::format("invalid escape sequence '\\{}'", cur_));
        }
        escaped = false;
        continue;
      }
      if (cur_ == '"') return absl::OkStatus();
      if (cur_ == '\n') {
        return Error(fmt::format("label value {} contains unescaped new-line", GoQuote(*token)));
      }
      if (cur_ == '\\') {
        escaped = true;
      } else {
        token->push_back(cur_);
      }
    }
  }

  // Finds the family a name belongs to: itself, or the summary/histogram `x` of `x_sum`,
  // `x_count` (or `x_bucket`), or a new untyped-so-far family.
  void SetCurrentFamily(const std::string& name) {
    is_count_ = is_sum_ = false;
    if (auto it = by_name_.find(name); it != by_name_.end()) {
      current_ = it->second;
      return;
    }
    for (bool histogram : {false, true}) {
      for (std::string_view suffix : {"_sum", "_count", "_bucket"}) {
        if (!histogram && suffix == "_bucket") continue;
        std::string_view base = StripSuffix(name, suffix);
        if (base.empty()) continue;
        auto it = by_name_.find(std::string(base));
        if (it == by_name_.end()) continue;
        pb::MetricType want = histogram ? pb::HISTOGRAM : pb::SUMMARY;
        if (families_[it->second].type() != want || !families_[it->second].has_type()) continue;
        current_ = it->second;
        is_count_ = suffix == "_count";
        is_sum_ = suffix == "_sum";
        return;
      }
    }
    current_ = families_.size();
    families_.emplace_back().set_name(name);
    by_name_[name] = current_;
  }

  absl::Status Comment() {
    ORIEL_RETURN_IF_ERROR(SkipBlankTab());
    if (cur_ == '\n') return absl::OkStatus();
    std::string keyword;
    ORIEL_RETURN_IF_ERROR(ReadUntilWhitespace(&keyword));
    if (cur_ == '\n') return absl::OkStatus();
    if (keyword != "HELP" && keyword != "TYPE") {
      while (cur_ != '\n') {
        if (!Read()) return Eof();
      }
      return absl::OkStatus();
    }
    ORIEL_RETURN_IF_ERROR(SkipBlankTab());
    std::string name;
    ORIEL_RETURN_IF_ERROR(ReadMetricName(&name));
    if (cur_ == '\n') return absl::OkStatus();
    if (!IsBlank(cur_)) return Error("invalid metric name in comment");
    SetCurrentFamily(name);
    ORIEL_RETURN_IF_ERROR(SkipBlankTab());
    if (cur_ == '\n') return absl::OkStatus();
    pb::MetricFamily& mf = families_[current_];
    std::string text;
    if (keyword == "HELP") {
      if (mf.has_help()) {
        return Error(fmt::format("second HELP line for metric name {}", GoQuote(mf.name())));
      }
      ORIEL_RETURN_IF_ERROR(ReadUntilNewline(true, &text));
      mf.set_help(text);
      return absl::OkStatus();
    }
    if (mf.has_type()) {
      return Error(
          fmt::format("second TYPE line for metric name {}, or TYPE reported after samples",
                      GoQuote(mf.name())));
    }
    ORIEL_RETURN_IF_ERROR(ReadUntilNewline(false, &text));
    static constexpr std::pair<std::string_view, pb::MetricType> kTypes[] = {
        {"counter", pb::COUNTER},     {"gauge", pb::GAUGE},     {"summary", pb::SUMMARY},
        {"histogram", pb::HISTOGRAM}, {"untyped", pb::UNTYPED},
    };
    for (const auto& [word, type] : kTypes) {
      if (EqualsIgnoreCase(text, word)) {
        mf.set_type(type);
        return absl::OkStatus();
      }
    }
    return Error(fmt::format("unknown metric type {}", GoQuote(text)));
  }

  absl::Status Sample() {
    std::string name;
    ORIEL_RETURN_IF_ERROR(ReadMetricName(&name));
    if (name.empty()) return Error("invalid metric name");
    SetCurrentFamily(name);
    pb::MetricFamily& mf = families_[current_];
    if (!mf.has_type()) mf.set_type(pb::UNTYPED);
    const bool summary = mf.type() == pb::SUMMARY;
    const bool histogram = mf.type() == pb::HISTOGRAM;
    pb::Metric metric;
    // Labels other than quantile/le, which identify the summary/histogram metric to add to.
    std::map<std::string, std::string> signature;
    double quantile = std::nan("");
    double bucket = std::nan("");
    ORIEL_RETURN_IF_ERROR(SkipBlankTabIfCurrentBlankTab());

    if (cur_ == '{') {
      while (true) {
        ORIEL_RETURN_IF_ERROR(SkipBlankTab());
        if (cur_ == '}') break;
        std::string label;
        ORIEL_RETURN_IF_ERROR(ReadLabelName(&label));
        if (label.empty()) {
          return Error(fmt::format("invalid label name for metric {}", GoQuote(mf.name())));
        }
        if (label == "__name__") return Error("label name \"__name__\" is reserved");
        bool special = (summary && label == "quantile") || (histogram && label == "le");
        if (!special) {
          for (const auto& lp : metric.label()) {
            if (lp.name() == label) {
              return Error(fmt::format("duplicate label names for metric {}", GoQuote(mf.name())));
            }
          }
        }
        ORIEL_RETURN_IF_ERROR(SkipBlankTabIfCurrentBlankTab());
        if (cur_ != '=') {
          return Error(fmt::format("expected '=' after label name, found {}", GoQuoteByte(cur_)));
        }
        ORIEL_RETURN_IF_ERROR(SkipBlankTab());
        if (cur_ != '"') {
          return Error(
              fmt::format("expected '\"' at start of label value, found {}", GoQuoteByte(cur_)));
        }
        std::string value;
        ORIEL_RETURN_IF_ERROR(ReadLabelValue(&value));
        if (!ValidUtf8(value)) return Error(fmt::format("invalid label value {}", GoQuote(value)));
        if (special) {
          double* target = summary ? &quantile : &bucket;
          if (!ParseGoFloat(value, target)) {
            return Error(fmt::format("expected float as value for '{}' label, got {}", label,
                                     GoQuote(value)));
          }
        } else {
          auto* lp = metric.add_label();
          lp->set_name(label);
          lp->set_value(value);
          signature[label] = value;
        }
        ORIEL_RETURN_IF_ERROR(SkipBlankTab());
        if (cur_ == '}') break;
        if (cur_ != ',') {
          return Error(fmt::format("unexpected end of label value {}", GoQuote(value)));
        }
      }
      ORIEL_RETURN_IF_ERROR(SkipBlankTab());
    }

    // Summaries and histograms collect their lines into one metric per label set.
    pb::Metric* target;
    if (summary || histogram) {
      std::string key = fmt::format("{}\xff", mf.name());
      for (const auto& [n, v] : signature) key += fmt::format("{}\xfe{}\xff", n, v);
      auto [it, inserted] = composite_.try_emplace(key, mf.metric_size());
      if (inserted) *mf.add_metric() = std::move(metric);
      target = mf.mutable_metric(it->second);
    } else {
      target = mf.add_metric();
      *target = std::move(metric);
    }

    std::string token;
    ORIEL_RETURN_IF_ERROR(ReadUntilWhitespace(&token));
    double value;
    if (!ParseGoFloat(token, &value)) {
      return Error(fmt::format("expected float as value, got {}", GoQuote(token)));
    }
    switch (mf.type()) {
      case pb::COUNTER:
        target->mutable_counter()->set_value(value);
        break;
      case pb::GAUGE:
        target->mutable_gauge()->set_value(value);
        break;
      case pb::SUMMARY: {
        auto* s = target->mutable_summary();
        if (is_count_) {
          s->set_sample_count(ToUint64(value));
        } else if (is_sum_) {
          s->set_sample_sum(value);
        } else if (!std::isnan(quantile)) {
          auto* q = s->add_quantile();
          q->set_quantile(quantile);
          q->set_value(value);
        }
        break;
      }
      case pb::HISTOGRAM: {
        auto* h = target->mutable_histogram();
        if (is_count_) {
          h->set_sample_count(ToUint64(value));
        } else if (is_sum_) {
          h->set_sample_sum(value);
        } else if (!std::isnan(bucket)) {
          auto* b = h->add_bucket();
          b->set_upper_bound(bucket);
          b->set_cumulative_count(ToUint64(value));
        }
        break;
      }
      default:
        target->mutable_untyped()->set_value(value);
    }
    if (cur_ == '\n') return absl::OkStatus();

    ORIEL_RETURN_IF_ERROR(SkipBlankTab());
    ORIEL_RETURN_IF_ERROR(ReadUntilWhitespace(&token));
    int64_t ts = 0;
    if (!ParseInt64(token, &ts)) {
      return Error(fmt::format("expected integer as timestamp, got {}", GoQuote(token)));
    }
    target->set_timestamp_ms(ts);
    ORIEL_RETURN_IF_ERROR(ReadUntilNewline(false, &token));
    if (!token.empty()) {
      return Error(fmt::format("spurious string after timestamp: {}", GoQuote(token)));
    }
    return absl::OkStatus();
  }

  static bool ParseInt64(std::string_view s, int64_t* out) {
    if (s.empty()) return false;
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (i == s.size()) return false;
    for (size_t k = i; k < s.size(); ++k) {
      if (s[k] < '0' || s[k] > '9') return false;
    }
    errno = 0;
    std::string copy(s);
    long long v = std::strtoll(copy.c_str(), nullptr, 10);
    if (errno == ERANGE) return false;
    *out = v;
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  char cur_ = 0;
  bool eof_ = false;
  int line_ = 0;
  std::vector<pb::MetricFamily> families_;
  absl::flat_hash_map<std::string, size_t> by_name_;
  absl::flat_hash_map<std::string, int> composite_;
  size_t current_ = 0;
  bool is_count_ = false;
  bool is_sum_ = false;
};

}  // namespace

bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string_view body = s;
  double sign = 1;
  if (body[0] == '+' || body[0] == '-') {
    if (body[0] == '-') sign = -1;
    body.remove_prefix(1);
  }
  if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
    *out = sign * std::numeric_limits<double>::infinity();
    return true;
  }
  if (EqualsIgnoreCase(s, "nan")) {  // Go accepts no sign on NaN
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  // Decimal only: digits, an optional fraction, an optional exponent.
  size_t i = 0;
  size_t digits = 0;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != body.size()) return false;
  std::string copy(s);
  errno = 0;
  double v = std::strtod(copy.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(v)) return false;  // Go reports overflow as an error
  *out = v;
  return true;
}

absl::StatusOr<std::vector<pb::MetricFamily>> ParseTextFormat(std::string_view text) {
  return TextParser(text).Parse();
}

}  // namespace oriel::ingest
