// The PromQL lexer: turns query text into tokens, tracking braces, brackets and parentheses the
// way Prometheus' lexer does so that it reports the same lexical errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oriel::promql {

enum class TokenType : uint8_t {
  kEof,
  kError,             // text is the message
  kIdentifier,        // also keywords: the parser decides by context
  kMetricIdentifier,  // an identifier with a colon
  kNumber,
  kDuration,
  kString,  // text includes the quotes
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kColon,
  kAssign,    // =
  kEqlc,      // ==
  kNeq,       // !=
  kEqlRegex,  // =~
  kNeqRegex,  // !~
  kLss,
  kLte,
  kGtr,
  kGte,
  kTrimUpper,  // </
  kTrimLower,  // >/
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAt,
};

struct Token {
  TokenType type = TokenType::kEof;
  int32_t pos = 0;        // byte offset in the input
  std::string_view text;  // a view of the input (or of LexResult::error for kError)
};

struct LexResult {
  // Ends with kEof, or with kError at the first lexical error.
  std::vector<Token> tokens;
  std::string error;
};

// REQUIRES: `input` outlives the result.
LexResult Lex(std::string_view input);

// Go's %q for one character of the input starting at `s[0]` ('x', '\n', '\x00', ...).
std::string QuoteRune(std::string_view s);

}  // namespace oriel::promql
