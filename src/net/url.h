// Percent-decoding and query-string parsing (application/x-www-form-urlencoded).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/http_message.h"

namespace oriel::net {

// Decodes %XX escapes; with `plus_as_space` also '+' as in form encoding.
// Returns nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space);

// Parses "a=1&b=x%20y"; malformed escapes are kept verbatim rather than rejected, as Go does
// for lenient callers. Empty pieces are skipped.
Params ParseQueryString(std::string_view query);

}  // namespace oriel::net
