#include "promql/parser/lexer.h"

#include "fmt/format.h"
#include "promql/parser/number_format.h"

namespace oriel::promql {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  LexResult Run() {
    while (true) {
      if (!result_.error.empty()) {
        result_.tokens.push_back({TokenType::kError, err_pos_, result_.error});
        return std::move(result_);
      }
      if (!Step()) {
        result_.tokens.push_back({TokenType::kEof, static_cast<int32_t>(in_.size()), {}});
        return std::move(result_);
      }
    }
  }

 private:
  char Peek(size_t off = 0) const { return pos_ + off < in_.size() ? in_[pos_ + off] : '\0'; }
  bool AtEnd(size_t off = 0) const { return pos_ + off >= in_.size(); }

  void Emit(TokenType t, size_t start) {
    result_.tokens.push_back({t, static_cast<int32_t>(start), in_.substr(start, pos_ - start)});
  }
  void Error(size_t at, std::string msg) {
    err_pos_ = static_cast<int32_t>(at);
    result_.error = std::move(msg);
  }

  // Lexes one token or skips space/comments; false at the end of the input.
  bool Step() {
    while (!AtEnd() && IsSpace(Peek())) ++pos_;
    if (AtEnd()) {
      if (brace_open_) {
        Error(pos_, "unexpected end of input inside braces");
      } else if (paren_depth_ > 0) {
        Error(pos_, "unclosed left parenthesis");
      } else if (bracket_open_) {
        Error(pos_, "unclosed left bracket");
      } else {
        return false;
      }
      return true;
    }
    if (brace_open_) {
      InsideBraces();
      return true;
    }
    size_t start = pos_;
    char c = Peek();
    if (c == '#') {
      while (!AtEnd() && Peek() != '\n') ++pos_;
      return true;
    }
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) {
      NumberOrDuration();
      return true;
    }
    if (c == '"' || c == '\'') {
      String(c);
      return true;
    }
    if (c == '`') {
      RawString();
      return true;
    }
    if (IsAlpha(c) || c == ':') {
      if (bracket_open_ && c == ':') {
        ++pos_;
        if (got_colon_) return Error(start, "unexpected colon ':'"), true;
        got_colon_ = true;
        Emit(TokenType::kColon, start);
        return true;
      }
      Identifier(/*allow_colon=*/!bracket_open_);
      return true;
    }
    ++pos_;
    switch (c) {
      case ',':
        Emit(TokenType::kComma, start);
        break;
      case '*':
        Emit(TokenType::kMul, start);
        break;
      case '/':
        Emit(TokenType::kDiv, start);
        break;
      case '%':
        Emit(TokenType::kMod, start);
        break;
      case '+':
        Emit(TokenType::kAdd, start);
        break;
      case '-':
        Emit(TokenType::kSub, start);
        break;
      case '^':
        Emit(TokenType::kPow, start);
        break;
      case '@':
        Emit(TokenType::kAt, start);
        break;
      case '=':
        if (Peek() == '=') {
          ++pos_;
          Emit(TokenType::kEqlc, start);
        } else if (Peek() == '~') {
          Error(start,
                fmt::format("unexpected character after '=': {}", QuoteRune(in_.substr(pos_))));
        } else {
          Emit(TokenType::kAssign, start);
        }
        break;
      case '!':
        if (Peek() == '=') {
          ++pos_;
          Emit(TokenType::kNeq, start);
        } else {
          Error(start, fmt::format("unexpected character after '!': {}",
                                   AtEnd() ? "EOF" : QuoteRune(in_.substr(pos_))));
        }
        break;
      case '<':
      case '>': {
        bool less = c == '<';
        TokenType t = less ? TokenType::kLss : TokenType::kGtr;
        if (Peek() == '=') {
          ++pos_;
          t = less ? TokenType::kLte : TokenType::kGte;
        } else if (Peek() == '/') {
          ++pos_;
          t = less ? TokenType::kTrimUpper : TokenType::kTrimLower;
        }
        Emit(t, start);
        break;
      }
      case '(':
        ++paren_depth_;
        Emit(TokenType::kLeftParen, start);
        break;
      case ')':
        if (--paren_depth_ < 0) {
          Error(pos_, "unexpected right parenthesis ')'");
        } else {
          Emit(TokenType::kRightParen, start);
        }
        break;
      case '{':
        brace_open_ = true;
        Emit(TokenType::kLeftBrace, start);
        break;
      case '}':
        Error(start, "unexpected character: '}'");
        break;
      case '[':
        if (bracket_open_) {
          Error(start, "unexpected left bracket '['");
        } else {
          bracket_open_ = true;
          got_colon_ = false;
          Emit(TokenType::kLeftBracket, start);
        }
        break;
      case ']':
        if (!bracket_open_) {
          Error(start, "unexpected right bracket ']'");
        } else {
          bracket_open_ = false;
          Emit(TokenType::kRightBracket, start);
        }
        break;
      default:
        pos_ = start;
        Error(start, fmt::format("unexpected character: {}", QuoteRune(in_.substr(start))));
    }
    return true;
  }

  void InsideBraces() {
    size_t start = pos_;
    char c = Peek();
    if (IsAlpha(c)) {
      Identifier(/*allow_colon=*/false);
      return;
    }
    if (c == '"' || c == '\'') return String(c);
    if (c == '`') return RawString();
    ++pos_;
    switch (c) {
      case ',':
        Emit(TokenType::kComma, start);
        return;
      case '=':
        if (Peek() == '~') {
          ++pos_;
          Emit(TokenType::kEqlRegex, start);
        } else {
          Emit(TokenType::kAssign, start);
        }
        return;
      case '!':
        if (Peek() == '~') {
          ++pos_;
          Emit(TokenType::kNeqRegex, start);
        } else if (Peek() == '=') {
          ++pos_;
          Emit(TokenType::kNeq, start);
        } else {
          Error(start, fmt::format("unexpected character after '!' inside braces: {}",
                                   AtEnd() ? "EOF" : QuoteRune(in_.substr(pos_))));
        }
        return;
      case '{':
        Error(start, "unexpected left brace '{'");
        return;
      case '}':
        brace_open_ = false;
        Emit(TokenType::kRightBrace, start);
        return;
      default:
        Error(start,
              fmt::format("unexpected character inside braces: {}", QuoteRune(in_.substr(start))));
    }
  }

  void Identifier(bool allow_colon) {
    size_t start = pos_;
    bool colon = false;
    while (!AtEnd() && (IsAlnum(Peek()) || (allow_colon && Peek() == ':'))) {
      colon |= Peek() == ':';
      ++pos_;
    }
    std::string_view word = in_.substr(start, pos_ - start);
    if (!brace_open_ && (EqualsIgnoreCase(word, "inf") || EqualsIgnoreCase(word, "nan"))) {
      Emit(TokenType::kNumber, start);
    } else {
      Emit(colon ? TokenType::kMetricIdentifier : TokenType::kIdentifier, start);
    }
  }

  // Scans a Go float literal (decimal with optional exponent, or hex); false when none.
  bool ScanNumber() {
    size_t start = pos_;
    if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X') && IsHex(Peek(2))) {
      pos_ += 2;
      while (IsHex(Peek())) ++pos_;
    } else {
      while (IsDigit(Peek())) ++pos_;
      if (Peek() == '.') {
        ++pos_;
        while (IsDigit(Peek())) ++pos_;
      }
      if ((Peek() == 'e' || Peek() == 'E') &&
          (IsDigit(Peek(1)) || ((Peek(1) == '+' || Peek(1) == '-') && IsDigit(Peek(2))))) {
        pos_ += 2;
        while (IsDigit(Peek())) ++pos_;
      }
    }
    if (IsAlnum(Peek()) || pos_ == start) {
      pos_ = start;
      return false;
    }
    return true;
  }

  void NumberOrDuration() {
    size_t start = pos_;
    if (ScanNumber()) {
      Emit(TokenType::kNumber, start);
      return;
    }
    // As Prometheus' lexer: the number's characters, then duration units. A malformed duration
    // such as "1.5h" still lexes as one and is rejected when its value is parsed.
    if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X')) {
      pos_ += 2;
      while (IsHex(Peek())) ++pos_;
    } else {
      while (IsDigit(Peek())) ++pos_;
      if (Peek() == '.') {
        ++pos_;
        while (IsDigit(Peek())) ++pos_;
      }
    }
    if (AcceptRemainingDuration()) {
      Emit(TokenType::kDuration, start);
      return;
    }
    if (!AtEnd()) ++pos_;  // the offending character is part of the message, as upstream
    Error(start, fmt::format("bad number or duration syntax: {}",
                             QuoteString(in_.substr(start, pos_ - start))));
  }

  // Units after the leading number: <unit>(<digits><unit>)*, not followed by an alphanumeric
  // character. Unit order and repetition are checked by ParseDuration.
  bool AcceptRemainingDuration() {
    auto accept_unit = [&](std::string_view units) {
      if (AtEnd() || units.find(Peek()) == std::string_view::npos) return false;
      ++pos_;
      if (Peek() == 's') ++pos_;  // ms (and bad ones such as "hs", caught later)
      return true;
    };
    if (!accept_unit("smhdwy")) return false;
    while (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
      if (!accept_unit("smhdw")) return false;
    }
    return !IsAlnum(Peek());
  }

  // Consumes one UTF-8 character; false (with an error) when it is invalid.
  bool NextRune(size_t start, uint32_t& cp) {
    size_t len = DecodeUtf8(in_, pos_, cp);
    if (len == 0) {
      Error(start, "invalid UTF-8 rune");
      return false;
    }
    pos_ += len;
    return true;
  }

  void String(char quote) {
    size_t start = pos_++;
    while (true) {
      if (AtEnd() || Peek() == '\n') {
        Error(start, "unterminated quoted string");
        return;
      }
      uint32_t c = 0;
      if (!NextRune(start, c)) return;
      if (c == '\\') {
        if (!ScanEscape(start, quote)) return;
      } else if (c == static_cast<unsigned char>(quote)) {
        Emit(TokenType::kString, start);
        return;
      }
    }
  }

  // Go's %#U of the rune just consumed (`len` bytes): "U+0071 'q'", the character only when
  // printable.
  std::string RuneName(uint32_t cp) const {
    std::string out = fmt::format("U+{:04X}", cp);
    if (cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0)) {
      size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      out += fmt::format(" '{}'", in_.substr(pos_ - len, len));
    }
    return out;
  }

  // Validates the escape after a backslash as Go's lexer (scanEscape) does.
  bool ScanEscape(size_t start, char quote) {
    if (AtEnd()) {
      Error(start, "escape sequence not terminated");
      return false;
    }
    uint32_t ch = 0;
    if (!NextRune(start, ch)) return false;
    int n = 0, base = 0;
    uint32_t max = 0;
    switch (ch) {
      case 'a':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
      case '\\':
        return true;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
        n = 3, base = 8, max = 255;
        break;
      case 'x':
        n = 2, base = 16, max = 255;
        break;
      case 'u':
        n = 4, base = 16, max = 0x10FFFF;
        break;
      case 'U':
        n = 8, base = 16, max = 0x10FFFF;
        break;
      default:
        if (ch == static_cast<unsigned char>(quote)) return true;
        Error(start, fmt::format("unknown escape sequence {}", RuneName(ch)));
        return false;
    }
    bool first_consumed = base == 8;  // octal escapes start with the digit already read
    uint32_t x = 0;
    for (int i = 0; i < n; ++i) {
      uint32_t d = 0;
      if (first_consumed && i == 0) {
        d = ch - '0';
      } else {
        if (AtEnd()) {
          Error(start, "escape sequence not terminated");
          return false;
        }
        if (!NextRune(start, ch)) return false;
        if (ch >= '0' && ch <= '9') {
          d = ch - '0';
        } else if (ch >= 'a' && ch <= 'f') {
          d = ch - 'a' + 10;
        } else if (ch >= 'A' && ch <= 'F') {
          d = ch - 'A' + 10;
        } else {
          d = 16;
        }
        if (d >= static_cast<uint32_t>(base)) {
          Error(start, fmt::format("illegal character {} in escape sequence", RuneName(ch)));
          return false;
        }
      }
      x = x * static_cast<uint32_t>(base) + d;
    }
    if (x > max || (base == 16 && x >= 0xD800 && x < 0xE000)) {
      Error(start, "escape sequence is an invalid Unicode code point");
      return false;
    }
    return true;
  }

  void RawString() {
    size_t start = pos_++;
    while (!AtEnd() && Peek() != '`') {
      uint32_t c = 0;
      if (!NextRune(start, c)) return;
    }
    if (AtEnd()) {
      Error(start, "unterminated raw string");
      return;
    }
    ++pos_;
    Emit(TokenType::kString, start);
  }

  std::string_view in_;
  size_t pos_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  int32_t err_pos_ = 0;
  LexResult result_;
};

}  // namespace

std::string QuoteRune(std::string_view s) {
  if (s.empty()) return "EOF";
  auto c = static_cast<unsigned char>(s[0]);
  switch (c) {
    case '\n':
      return "'\\n'";
    case '\t':
      return "'\\t'";
    case '\r':
      return "'\\r'";
    case '\'':
      return "'\\''";
    case '\\':
      return "'\\\\'";
    default:
      break;
  }
  if (c < 0x20 || c == 0x7F) return fmt::format("'\\x{:02x}'", c);
  if (c < 0x80) return fmt::format("'{}'", static_cast<char>(c));
  size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
  if (len > s.size()) len = 1;
  return fmt::format("'{}'", s.substr(0, len));
}

LexResult Lex(std::string_view input) { return Lexer(input).Run(); }

}  // namespace oriel::promql
