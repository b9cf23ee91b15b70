#include "tracestore/wal_record.h"

#include <zstd.h>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace oriel::tracestore {
namespace {

using google::protobuf::util::MessageDifferencer;
using opentelemetry::proto::trace::v1::ResourceSpans;

ResourceSpans Spans(int n) {
  ResourceSpans rs;
  auto* kv = rs.mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("checkout");
  auto* ss = rs.add_scope_spans();
  for (int i = 0; i < n; ++i) {
    auto* span = ss->add_spans();
    span->set_trace_id(std::string(16, '\x01'));
    span->set_span_id(std::string(7, '\x02') + static_cast<char>(i + 1));
    span->set_name("GET /api/items");
    auto* attr = span->add_attributes();
    attr->set_key("http.request.method");
    attr->mutable_value()->set_string_value("GET");
  }
  return rs;
}

TEST(WalRecordTest, RoundTripsSmallPlainAndLargeCompressed) {
  for (int n : {1, 50}) {
    ResourceSpans in = Spans(n);
    std::string record = EncodeWalRecord(in);
    ASSERT_FALSE(record.empty());
    EXPECT_EQ(record[0], n == 1 ? kPlainRecord : kSnappyRecord);
    if (n == 50) {
      EXPECT_LT(record.size(), in.ByteSizeLong() / 4) << "repetitive spans compress";
    }
    ResourceSpans out;
    ASSERT_TRUE(DecodeWalRecord(record, &out).ok());
    EXPECT_TRUE(MessageDifferencer::Equals(in, out));
  }
}

TEST(WalRecordTest, PlainRecordsOfTheWritePathRoundTrip) {
  for (int n : {0, 1, 50}) {
    ResourceSpans in = Spans(n);
    const std::string serialized = in.SerializeAsString();
    std::string record = EncodePlainWalRecord(serialized);
    ASSERT_EQ(record[0], kPlainRecord);
    EXPECT_EQ(record.substr(1), serialized);
    ResourceSpans out;
    ASSERT_TRUE(DecodeWalRecord(record, &out).ok());
    EXPECT_TRUE(MessageDifferencer::Equals(in, out));
  }
}

// A 'Z' record, as earlier versions wrote them.
std::string ZstdRecord(const ResourceSpans& rs) {
  const std::string plain = rs.SerializeAsString();
  std::string record(1 + ZSTD_compressBound(plain.size()), kZstdRecord);
  const size_t n =
      ZSTD_compress(record.data() + 1, record.size() - 1, plain.data(), plain.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  record.resize(1 + n);
  return record;
}

TEST(WalRecordTest, ReadsZstdRecordsOfEarlierVersions) {
  const ResourceSpans in = Spans(50);
  ResourceSpans out;
  ASSERT_TRUE(DecodeWalRecord(ZstdRecord(in), &out).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));
}

TEST(WalRecordTest, RejectsCorruptRecords) {
  ResourceSpans out;
  std::string good = ZstdRecord(Spans(50));
  std::string snappy = EncodeWalRecord(Spans(50));
  ASSERT_EQ(snappy[0], kSnappyRecord);
  // Bit flips inside a frame are the WAL's CRC32C's job; these are structural errors.
  struct Case {
    std::string record;
    std::string message;
  };
  std::vector<Case> cases = {
      {"", "empty record"},
      {"Q123", "unknown record type 0x51"},
      {"R\xff\xff\xff", "invalid ResourceSpans"},
      {"Z", "invalid zstd frame header"},
      {good.substr(0, good.size() / 2), "invalid zstd frame"},
      {"S", "invalid snappy block header"},
      {snappy.substr(0, snappy.size() / 2), "invalid snappy block"},
      // A header that claims 2^31 bytes.
      {std::string("S\x80\x80\x80\x80\x08", 6), "over the limit"},
  };
  for (const Case& c : cases) {
    absl::Status status = DecodeWalRecord(c.record, &out);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << c.message;
    EXPECT_NE(std::string(status.message()).find(c.message), std::string::npos) << status;
  }
  // An empty ResourceSpans is a valid (plain) record.
  ResourceSpans empty;
  EXPECT_TRUE(DecodeWalRecord(EncodeWalRecord(empty), &out).ok());
}

TEST(WalRecordTest, RejectsOversizedContentSize) {
  // A streamed frame whose header pledges 2^40 bytes of content, cut short.
  std::string payload(1000, 'a');
  std::string big(1 + ZSTD_compressBound(1), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_EQ(ZSTD_CCtx_setPledgedSrcSize(cctx, uint64_t{1} << 40), 0u);
  ZSTD_outBuffer out_buf{big.data() + 1, big.size() - 1, 0};
  ZSTD_inBuffer in_buf{payload.data(), 1, 0};
  ZSTD_compressStream2(cctx, &out_buf, &in_buf, ZSTD_e_flush);
  ZSTD_freeCCtx(cctx);
  big.resize(1 + out_buf.pos);
  big[0] = kZstdRecord;
  ResourceSpans out;
  absl::Status status = DecodeWalRecord(big, &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(status.message()).find("over the limit"), std::string::npos) << status;
}

}  // namespace
}  // namespace oriel::tracestore
