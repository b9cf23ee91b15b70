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

}  // namespace oriel
