// JSON string literals for the hand-written JSON outputs (API envelopes, reports).
#pragma once

#include <string>
#include <string_view>

namespace oriel {

// Appends `s` as a quoted JSON string: quotes, backslashes and control characters escaped;
// other bytes (UTF-8) copied as they are.
void AppendJsonString(std::string& out, std::string_view s);

// `s` as a quoted JSON string.
std::string JsonString(std::string_view s);

// As Go's encoding/json writes strings (and so the Go peers' JSON): also <, > and & as \u003c,
// \u003e, \u0026, and U+2028/U+2029 as escapes.
void AppendGoJsonString(std::string& out, std::string_view s);
std::string GoJsonString(std::string_view s);

}  // namespace oriel
