#include "tsdb/block_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "base/check.h"
#include "base/status.h"
#include "storage/crc32c.h"
#include "tsdb/delta_chunk.h"
#include "tsdb/encoding.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/page_cache.h"
#include "tsdb/series_iterator.h"
#include "tsdb/xor_chunk.h"
#include "tsdb/zstd_codec.h"

namespace oriel::tsdb {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::DataLossError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(fmt::format("cannot read {}", path));
  return std::move(ss).str();
}

// A chunk's header in the chunks file: encoding, sample count, and where its bytes are.
struct ChunkHeader {
  uint8_t encoding = 0;
  uint64_t num_samples = 0;
  std::string_view data;
  size_t crc_offset = 0;  // the CRC covers [ref, crc_offset)
};

// A version 1 record (followed by its CRC) or, with `paged`, a version 2 record in a page.
bool ParseChunkHeader(std::string_view file, uint64_t ref, ChunkHeader* h, bool paged = false) {
  if ((!paged && ref < kChunksMagic.size()) || ref >= file.size()) return false;
  ByteReader r(file.substr(ref));
  if (!r.Byte(&h->encoding) || !r.Uvarint(&h->num_samples) || !r.String(&h->data)) return false;
  if (h->encoding != kChunkXor && h->encoding != kChunkHistogram &&
      (!paged || h->encoding != kChunkDelta)) {
    return false;
  }
  if (h->num_samples == 0 || h->num_samples > INT32_MAX) return false;
  if (!paged && r.remaining() < 4) return false;
  h->crc_offset = ref + r.offset();
  return true;
}

// The first decode error of the iterators a set handed out (they may run on other threads),
// reported by the set's status().
class DecodeErrors {
 public:
  void Add(absl::Status s) {
    std::lock_guard lock(mu_);
    if (first_.ok()) first_ = std::move(s);
  }
  absl::Status Get() const {
    std::lock_guard lock(mu_);
    return first_;
  }

 private:
  mutable std::mutex mu_;
  absl::Status first_;
};

// Iterates one block series. Reads its chunks (pages, CRCs) only when first used, so that
// readers can decode series on several threads, pages included. AppendFloats decodes the stored
// chunks straight into its output; Next and Seek decode them into a snapshot first. A chunk that
// cannot be read or decoded ends the samples early and goes to `errors`.
class BlockSeriesIterator final : public SampleIterator {
 public:
  BlockSeriesIterator(std::shared_ptr<const BlockReader> block, uint32_t id, int64_t mint,
                      int64_t maxt, std::shared_ptr<DecodeErrors> errors)
      : block_(std::move(block)), id_(id), mint_(mint), maxt_(maxt), errors_(std::move(errors)) {}

  ValueType Next() override { return Snapshot().Next(); }
  ValueType Seek(int64_t t) override { return Snapshot().Seek(t); }
  int64_t AtTime() const override { return it_->AtTime(); }
  double AtFloat() const override { return it_->AtFloat(); }
  const model::HistogramSample& AtHistogram() const override { return it_->AtHistogram(); }

  void AppendFloats(int64_t mint, int64_t maxt, std::vector<model::Sample>* out,
                    std::vector<int64_t>* histogram_times) override {
    mint = std::max(mint, mint_);
    maxt = std::min(maxt, maxt_);
    if (mint > maxt) return;
    std::vector<BlockReader::StoredChunk> chunks;
    if (absl::Status s = block_->StoredChunks(id_, mint, maxt, &chunks); !s.ok()) {
      errors_->Add(std::move(s));
      return;
    }
    for (const BlockReader::StoredChunk& c : chunks) {
      if (c.max_time < mint) continue;
      if (c.min_time > maxt) break;
      absl::Status s;
      if (c.encoding == kChunkDelta) {
        s = AppendDeltaFloats(c.data, c.num_samples, mint, maxt, out);
      } else if (c.encoding == kChunkXor) {
        s = AppendXorFloats(c.data, c.num_samples, mint, maxt, out);
      } else if (histogram_times != nullptr) {
        HistogramIterator it(c.data, c.num_samples);
        while (it.Next() && it.t() <= maxt) {
          if (it.t() >= mint) histogram_times->push_back(it.t());
        }
        s = it.status();
      }
      if (!s.ok()) {
        errors_->Add(absl::DataLossError(fmt::format("cannot read chunk {:#x} of block {}: {}",
                                                     c.ref, block_->dir(), s.message())));
        return;
      }
    }
  }

 private:
  SnapshotIterator& Snapshot() {
    if (it_ == nullptr) {
      auto snap = std::make_shared<SeriesSnapshot>();
      std::vector<BlockReader::StoredChunk> chunks;
      if (absl::Status s = block_->StoredChunks(id_, mint_, maxt_, &chunks); !s.ok()) {
        errors_->Add(std::move(s));
        chunks.clear();
      }
      for (const BlockReader::StoredChunk& c : chunks) {
        if (absl::Status s = block_->DecodeChunk(c, &snap->chunks.emplace_back()); !s.ok()) {
          errors_->Add(std::move(s));
          snap->chunks.pop_back();
          break;
        }
      }
      it_ = std::make_unique<SnapshotIterator>(std::move(snap), mint_, maxt_);
    }
    return *it_;
  }

  std::shared_ptr<const BlockReader> block_;
  uint32_t id_;
  int64_t mint_;
  int64_t maxt_;
  std::shared_ptr<DecodeErrors> errors_;
  std::unique_ptr<SnapshotIterator> it_;
};

// The series of a select. Decides from the index whether a series has samples in the range
// (reading chunks only when that cannot tell); the iterators read and decode them. Errors of the
// iterators (bad CRC, corrupt chunk) show in status() once they ran.
class BlockSeriesSet final : public SeriesSet {
 public:
  BlockSeriesSet(std::shared_ptr<const BlockReader> block, std::vector<uint32_t> ids, int64_t mint,
                 int64_t maxt)
      : block_(std::move(block)), ids_(std::move(ids)), mint_(mint), maxt_(maxt) {}

  bool Next() override {
    has_current_ = false;
    if (!status().ok()) return false;
    while (next_ < ids_.size()) {
      current_ = ids_[next_++];
      // A chunk that begins or ends inside the range has a sample there; only one spanning the
      // whole range may have none in it, which takes decoding to tell.
      bool overlaps = false, has_sample = false;
      for (const BlockReader::ChunkMeta& c : block_->series(current_).chunks) {
        if (c.max_time < mint_) continue;
        if (c.min_time > maxt_) break;
        overlaps = true;
        if (c.min_time >= mint_ || c.max_time <= maxt_) {
          has_sample = true;
          break;
        }
      }
      if (overlaps && !has_sample) {
        std::vector<model::Sample> floats;
        std::vector<int64_t> histograms;
        BlockSeriesIterator(block_, current_, mint_, maxt_, errors_)
            .AppendFloats(mint_, maxt_, &floats, &histograms);
        has_sample = !floats.empty() || !histograms.empty();
      }
      if (has_sample) {
        has_current_ = true;
        return true;
      }
    }
    return false;
  }
  const model::Labels& labels() const override {
    ORIEL_CHECK(has_current_);
    return block_->series(current_).labels;
  }
  std::unique_ptr<SampleIterator> Samples() const override {
    ORIEL_CHECK(has_current_);
    return std::make_unique<BlockSeriesIterator>(block_, current_, mint_, maxt_, errors_);
  }
  absl::Status status() const override { return errors_->Get(); }

 private:
  std::shared_ptr<const BlockReader> block_;
  std::vector<uint32_t> ids_;
  int64_t mint_;
  int64_t maxt_;
  size_t next_ = 0;
  uint32_t current_ = 0;
  bool has_current_ = false;
  std::shared_ptr<DecodeErrors> errors_ = std::make_shared<DecodeErrors>();
};

}  // namespace

BlockReader::~BlockReader() {
  if (chunks_ != nullptr) ::munmap(const_cast<char*>(chunks_), chunks_size_);
}

absl::StatusOr<std::shared_ptr<BlockReader>> BlockReader::Open(const std::string& dir,
                                                               std::shared_ptr<PageCache> cache) {
  std::shared_ptr<BlockReader> b(new BlockReader());
  b->dir_ = dir;
  if (cache != nullptr) {
    b->cache_owner_ = cache->NewOwner();
    b->shared_cache_ = std::move(cache);
  }
  std::string meta_path = dir + "/" + std::string(kBlockMetaFile);
  ORIEL_ASSIGN_OR_RETURN(std::string meta_json, ReadWholeFile(meta_path));
  absl::StatusOr<BlockMeta> meta = ParseBlockMeta(meta_json);
  if (!meta.ok()) {
    return absl::DataLossError(
        fmt::format("cannot open block {}: {}", dir, meta.status().message()));
  }
  b->meta_ = *meta;

  std::string chunks_path = dir + "/" + std::string(kBlockChunksFile);
  int fd = ::open(chunks_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::DataLossError(
        fmt::format("cannot open {}: {}", chunks_path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return absl::DataLossError(fmt::format("cannot stat {}: {}", chunks_path, std::strerror(err)));
  }
  b->chunks_size_ = static_cast<size_t>(st.st_size);
  if (b->chunks_size_ < kChunksMagic.size()) {
    ::close(fd);
    return absl::DataLossError(fmt::format("cannot open {}: the file is too short", chunks_path));
  }
  void* p = ::mmap(nullptr, b->chunks_size_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    return absl::DataLossError(fmt::format("cannot map {}: {}", chunks_path, std::strerror(errno)));
  }
  b->chunks_ = static_cast<const char*>(p);
  std::string_view magic(b->chunks_, kChunksMagic.size());
  if (magic == kChunksMagicV2 || magic == kChunksMagicV3) {
    b->paged_ = true;
    if (absl::Status s = b->LoadPages(); !s.ok()) {
      return absl::DataLossError(fmt::format("cannot open {}: {}", chunks_path, s.message()));
    }
  } else if (magic != kChunksMagic) {
    return absl::DataLossError(fmt::format("cannot open {}: bad magic", chunks_path));
  }

  std::string index_path = dir + "/" + std::string(kBlockIndexFile);
  ORIEL_ASSIGN_OR_RETURN(std::string index, ReadWholeFile(index_path));
  if (absl::Status s = b->LoadIndex(index); !s.ok()) {
    return absl::DataLossError(fmt::format("cannot load {}: {}", index_path, s.message()));
  }
  b->size_bytes_ = b->chunks_size_ + index.size() + meta_json.size();
  return b;
}

absl::Status BlockReader::LoadPages() {
  std::string_view file(chunks_, chunks_size_);
  size_t pos = kChunksMagicV2.size();
  while (pos < file.size()) {
    ByteReader r(file.substr(pos));
    uint64_t size = 0, compressed = 0;
    if (!r.Uvarint(&size) || !r.Uvarint(&compressed) || size == 0 || size > kMaxDecompressedSize ||
        compressed > r.remaining() || r.remaining() - compressed < 4) {
      return absl::DataLossError(fmt::format("malformed page header at offset {}", pos));
    }
    size_t offset = pos + r.offset();
    pages_.push_back({offset, static_cast<size_t>(compressed), size});
    pos = offset + compressed + 4;  // the frame's CRC is checked when the page is read
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const std::string>> BlockReader::Page(size_t n) const {
  {
    std::lock_guard lock(cache_mu_);
    for (size_t i = 0; i < page_cache_.size(); ++i) {
      if (page_cache_[i].first == n) {
        std::rotate(page_cache_.begin(), page_cache_.begin() + static_cast<ptrdiff_t>(i),
                    page_cache_.begin() + static_cast<ptrdiff_t>(i) + 1);
        return page_cache_.front().second;
      }
    }
  }
  std::shared_ptr<const std::string> page;
  if (shared_cache_ != nullptr) page = shared_cache_->Get(cache_owner_, n);
  if (page == nullptr) {
    ORIEL_ASSIGN_OR_RETURN(page, DecompressPage(n));
    if (shared_cache_ != nullptr) shared_cache_->Put(cache_owner_, n, page);
  }
  std::lock_guard lock(cache_mu_);
  page_cache_.insert(page_cache_.begin(), {n, page});
  if (page_cache_.size() > kPageCacheSize) page_cache_.pop_back();
  return page;
}

absl::StatusOr<std::shared_ptr<const std::string>> BlockReader::DecompressPage(size_t n) const {
  const PageRef& p = pages_[n];
  std::string_view frame(chunks_ + p.offset, p.compressed_size);
  if (storage::Crc32c(frame) != DecodeFixed32(chunks_ + p.offset + p.compressed_size)) {
    return absl::DataLossError(fmt::format(
        "cannot read page {} at offset {} of block {}: CRC mismatch", n, p.offset, dir_));
  }
  absl::StatusOr<std::string> raw = ZstdDecompress(frame, p.size, kMaxDecompressedSize);
  if (!raw.ok()) {
    return absl::DataLossError(fmt::format("cannot read page {} at offset {} of block {}: {}", n,
                                           p.offset, dir_, raw.status().message()));
  }
  return std::make_shared<const std::string>(*std::move(raw));
}

absl::Status BlockReader::CheckChunkRef(uint64_t ref) const {
  if (paged_) {
    uint64_t page = ref >> 32, offset = ref & 0xffffffff;
    if (page >= pages_.size() || offset >= pages_[page].size) {
      return absl::DataLossError(
          fmt::format("chunk reference {:#x} points outside the pages", ref));
    }
    return absl::OkStatus();
  }
  ChunkHeader h;
  if (!ParseChunkHeader(std::string_view(chunks_, chunks_size_), ref, &h)) {
    return absl::DataLossError(
        fmt::format("chunk reference {} does not point at a valid chunk", ref));
  }
  return absl::OkStatus();
}

absl::Status BlockReader::LoadIndex(std::string_view data) {
  const bool compressed = data.size() >= kIndexMagicV2.size() &&
                          (data.substr(0, kIndexMagicV2.size()) == kIndexMagicV2 ||
                           data.substr(0, kIndexMagicV3.size()) == kIndexMagicV3);
  if (data.size() < kIndexMagic.size() + 4 ||
      (!compressed && data.substr(0, kIndexMagic.size()) != kIndexMagic)) {
    return absl::DataLossError("bad magic or too short");
  }
  uint32_t want = DecodeFixed32(data.data() + data.size() - 4);
  std::string_view body = data.substr(0, data.size() - 4);
  if (storage::Crc32c(body) != want) return absl::DataLossError("CRC mismatch");
  body = body.substr(kIndexMagic.size());
  if (!compressed) return ParseIndexBody(body, kIndexMagic.size());
  ByteReader r(body);
  uint64_t size = 0;
  if (!r.Uvarint(&size)) return absl::DataLossError("bad uncompressed size");
  absl::StatusOr<std::string> raw =
      ZstdDecompress(body.substr(r.offset()), size, kMaxDecompressedSize);
  if (!raw.ok()) return raw.status();
  // Offsets in errors are then offsets in the uncompressed index.
  return ParseIndexBody(*raw, 0);
}

absl::Status BlockReader::ParseIndexBody(std::string_view body, size_t base) {
  ByteReader r(body);
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(fmt::format("{} at offset {}", what, base + r.offset()));
  };

  uint64_t n = 0;
  if (!r.Uvarint(&n) || n > r.remaining()) return bad("bad symbol count");
  std::vector<std::string_view> symbols(n);
  for (auto& s : symbols) {
    if (!r.String(&s)) return bad("truncated symbol");
  }
  auto sym = [&](std::string_view* out) {
    uint64_t id = 0;
    if (!r.Uvarint(&id) || id >= symbols.size()) return false;
    *out = symbols[id];
    return true;
  };

  if (!r.Uvarint(&n) || n > r.remaining() || n > UINT32_MAX) return bad("bad series count");
  if (n != meta_.num_series) return bad("series count differs from meta.json");
  series_.resize(n);
  uint64_t total_labels = 0, total_chunks = 0;
  const bool delta_refs = meta_.version >= 3;
  uint64_t previous_ref = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t nl = 0;
    if (!r.Uvarint(&nl) || nl == 0 || nl > r.remaining()) return bad("bad label count");
    std::vector<model::LabelRef> labels(nl);
    for (uint64_t j = 0; j < nl; ++j) {
      std::string_view name, value;
      if (!sym(&name) || !sym(&value)) return bad("bad symbol reference");
      labels[j] = {name, value};
      if (j > 0 && labels[j - 1].name >= labels[j].name) return bad("labels not sorted");
    }
    total_labels += nl;
    series_[i].labels = model::Labels::FromSortedViews(labels);
    if (i > 0 && !(series_[i - 1].labels < series_[i].labels)) return bad("series not sorted");
    uint64_t nc = 0;
    if (!r.Uvarint(&nc) || nc > r.remaining()) return bad("bad chunk count");
    // Version 3 stores each reference as the difference to the previous chunk's (wrapping; the
    // result is checked like any reference).
    series_[i].chunks.resize(nc);
    for (uint64_t j = 0; j < nc; ++j) {
      ChunkMeta& c = series_[i].chunks[j];
      uint64_t span = 0;
      if (!r.Varint(&c.min_time) || !r.Uvarint(&span) || !r.Uvarint(&c.ref)) {
        return bad("truncated chunk meta");
      }
      if (delta_refs) {
        c.ref += previous_ref;
        previous_ref = c.ref;
      }
      c.max_time = static_cast<int64_t>(static_cast<uint64_t>(c.min_time) + span);
      if (c.max_time < c.min_time || c.min_time < meta_.min_time || c.max_time > meta_.max_time ||
          (j > 0 && c.min_time <= series_[i].chunks[j - 1].max_time)) {
        return bad("chunk time range out of order or outside the block");
      }
      if (absl::Status s = CheckChunkRef(c.ref); !s.ok())
        return bad(fmt::format("{}", s.message()));
    }
    total_chunks += nc;
  }
  if (total_chunks != meta_.num_chunks) return bad("chunk count differs from meta.json");

  if (!r.Uvarint(&n) || n > r.remaining()) return bad("bad postings count");
  uint64_t total_postings = 0;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name, value;
    uint64_t count = 0;
    if (!sym(&name) || !sym(&value)) return bad("bad symbol reference in postings");
    if (!r.Uvarint(&count) || count > r.remaining()) return bad("bad postings length");
    std::string sname(name), svalue(value);
    uint64_t id = 0;
    for (uint64_t j = 0; j < count; ++j) {
      uint64_t delta = 0;
      if (!r.Uvarint(&delta) || (j > 0 && delta == 0)) return bad("bad posting");
      id += delta;
      if (id >= series_.size() || series_[id].labels.Get(name) != value) {
        return bad(fmt::format("posting {} of {}=\"{}\" names the wrong series", id, name, value));
      }
      postings_.AddPosting(sname, svalue, static_cast<uint32_t>(id));
    }
    total_postings += count;
  }
  if (total_postings != total_labels) return bad("postings do not cover every label");
  if (!r.done()) return bad("trailing bytes");
  return absl::OkStatus();
}

absl::Status BlockReader::LocateChunk(const ChunkMeta& c, StoredChunk* out) const {
  ChunkHeader h;
  if (paged_) {
    if (out->page == nullptr) {
      ORIEL_ASSIGN_OR_RETURN(out->page, Page(c.ref >> 32));
    }
    if (!ParseChunkHeader(*out->page, c.ref & 0xffffffff, &h, /*paged=*/true)) {
      return absl::DataLossError(
          fmt::format("cannot read chunk {:#x} of block {}: malformed", c.ref, dir_));
    }
  } else {
    std::string_view file(chunks_, chunks_size_);
    if (!ParseChunkHeader(file, c.ref, &h)) {
      return absl::DataLossError(
          fmt::format("cannot read chunk at offset {} of block {}: malformed", c.ref, dir_));
    }
    uint32_t want = DecodeFixed32(chunks_ + h.crc_offset);
    if (storage::Crc32c(file.substr(c.ref, h.crc_offset - c.ref)) != want) {
      return absl::DataLossError(
          fmt::format("cannot read chunk at offset {} of block {}: CRC mismatch", c.ref, dir_));
    }
  }
  out->ref = c.ref;
  out->encoding = h.encoding;
  out->num_samples = static_cast<int>(h.num_samples);
  out->min_time = c.min_time;
  out->max_time = c.max_time;
  out->data = h.data;
  return absl::OkStatus();
}

absl::Status BlockReader::DecodeChunk(const StoredChunk& c, SeriesSnapshot::Chunk* out) const {
  out->num_samples = c.num_samples;
  out->min_time = c.min_time;
  out->max_time = c.max_time;
  out->is_float = c.encoding != kChunkHistogram;
  if (c.encoding != kChunkDelta) {
    out->bytes = std::string(c.data);
    return absl::OkStatus();
  }
  if (absl::Status s = DecodeDeltaChunkInto(c.data, c.num_samples, &out->samples); !s.ok()) {
    return absl::DataLossError(
        fmt::format("cannot read chunk {:#x} of block {}: {}", c.ref, dir_, s.message()));
  }
  return absl::OkStatus();
}

absl::Status BlockReader::StoredChunks(uint32_t id, int64_t mint, int64_t maxt,
                                       std::vector<StoredChunk>* out) const {
  for (const ChunkMeta& c : series_[id].chunks) {
    if (c.max_time < mint) continue;
    if (c.min_time > maxt) break;
    StoredChunk& stored = out->emplace_back();
    // A series' chunks mostly share a page: the previous one's saves a cache lookup.
    if (paged_ && out->size() > 1 && ((*out)[out->size() - 2].ref >> 32) == (c.ref >> 32)) {
      stored.page = (*out)[out->size() - 2].page;
    }
    ORIEL_RETURN_IF_ERROR(LocateChunk(c, &stored));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SeriesSnapshot>> BlockReader::Snapshot(uint32_t id, int64_t mint,
                                                                    int64_t maxt) const {
  std::vector<StoredChunk> stored;
  ORIEL_RETURN_IF_ERROR(StoredChunks(id, mint, maxt, &stored));
  if (stored.empty()) return std::nullopt;
  SeriesSnapshot snap;
  for (const StoredChunk& c : stored) {
    ORIEL_RETURN_IF_ERROR(DecodeChunk(c, &snap.chunks.emplace_back()));
  }
  snap.labels = series_[id].labels;
  return snap;
}

std::vector<uint32_t> BlockReader::SeriesIds(int64_t mint, int64_t maxt,
                                             std::span<const model::Matcher> matchers) const {
  std::vector<uint32_t> ids = postings_.Select(matchers).ToVector();
  std::erase_if(ids, [&](uint32_t id) {
    for (const ChunkMeta& c : series_[id].chunks) {
      if (c.min_time <= maxt && mint <= c.max_time) return false;
    }
    return true;
  });
  return ids;
}

std::unique_ptr<SeriesSet> BlockReader::Select(int64_t mint, int64_t maxt,
                                               std::span<const model::Matcher> matchers) const {
  return std::make_unique<BlockSeriesSet>(shared_from_this(), SeriesIds(mint, maxt, matchers), mint,
                                          maxt);
}

std::vector<std::string> BlockReader::LabelNames(int64_t mint, int64_t maxt,
                                                 std::span<const model::Matcher> matchers) const {
  if (matchers.empty() && mint <= meta_.min_time && maxt >= meta_.max_time) {
    return postings_.LabelNames();
  }
  absl::flat_hash_set<std::string> names;
  for (uint32_t id : SeriesIds(mint, maxt, matchers)) {
    for (const model::LabelRef& l : series_[id].labels) names.emplace(l.name);
  }
  std::vector<std::string> out(names.begin(), names.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> BlockReader::LabelValues(std::string_view name, int64_t mint, int64_t maxt,
                                                  std::span<const model::Matcher> matchers) const {
  if (matchers.empty() && mint <= meta_.min_time && maxt >= meta_.max_time) {
    return postings_.LabelValues(name);
  }
  absl::flat_hash_set<std::string> values;
  for (uint32_t id : SeriesIds(mint, maxt, matchers)) {
    std::string_view v = series_[id].labels.Get(name);
    if (!v.empty()) values.insert(std::string(v));
  }
  std::vector<std::string> out(values.begin(), values.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace oriel::tsdb
