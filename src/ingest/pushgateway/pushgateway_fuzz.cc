// Fuzzes the Pushgateway parsers (text format, delimited protobuf, grouping key, persistence
// file) with hostile bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/pushgateway/delimited_parser.h"
#include "ingest/pushgateway/group_file.h"
#include "ingest/pushgateway/grouping_key.h"
#include "ingest/pushgateway/text_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)oriel::ingest::ParseTextFormat(in);
  (void)oriel::ingest::ParseDelimitedFamilies(in);
  (void)oriel::ingest::DecodeGroups(in);
  size_t slash = in.find('/');
  std::string_view job = in.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? "" : in.substr(slash + 1);
  (void)oriel::ingest::ParseGroupingKey(size % 2 == 0, job, rest);
  return 0;
}
