#include "base/json.h"

namespace oriel {

namespace {

// Whether byte c is copied as it is (outside the bytes that need a look for Go's escapes).
bool Plain(unsigned char c, bool go) {
  if (c < 0x20 || c == '"' || c == '\\') return false;
  return !go || (c != '<' && c != '>' && c != '&' && c != 0xe2);
}

void AppendEscaped(std::string& out, std::string_view s, bool go) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    // Runs of plain bytes (nearly every label and value) are appended at once.
    size_t run = i;
    while (run < s.size() && Plain(static_cast<unsigned char>(s[run]), go)) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
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
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || (go && (c == '<' || c == '>' || c == '&'))) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else if (go && c == 0xe2 && i + 2 < s.size() &&
                   static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
                    static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
          // U+2028 and U+2029, which Go escapes for JavaScript's sake.
          out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
          i += 2;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) { AppendEscaped(out, s, false); }

void AppendGoJsonString(std::string& out, std::string_view s) { AppendEscaped(out, s, true); }

std::string GoJsonString(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendGoJsonString(out, s);
  return out;
}

std::string JsonString(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendJsonString(out, s);
  return out;
}

}  // namespace oriel
