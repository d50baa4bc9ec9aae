// Reading a tar archive's member table from its bytes: the name, data offset and size of
// each regular file, so one sample of a shard can be served by its byte range
// (docs/tar-members.md). Reads POSIX ustar, pax extended headers (path, size) and GNU
// long names: what Python's tarfile (every format), GNU tar, bsdtar and WebDataset write.
//
// The bytes come in order, in pieces of any size: a PUT feeds each piece as it is hashed,
// and a reader of stored data skips what Skippable() says (member data) and reads only the
// headers. Memory stays bounded: one header block, one extended header (at most
// kMaxTarExtendedHeader bytes) and the table itself (at most max_members entries).
//
// Why hand-written: libarchive, the library for reading tar, pulls its input through a
// read callback (a PUT pushes pieces as they arrive) and does not tell where a member's
// data starts in the archive, which is the one thing wanted here. The headers are fixed
// 512-byte layouts; the fuzz target tests/fuzz/fuzz_tar_index.cc and the tests against
// Python's tarfile and GNU tar hold the parser to them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

struct TarEntry {
  std::string name;     // as the archive spells it (tar -t), UTF-8
  uint64_t offset = 0;  // of the member's first data byte in the archive
  uint64_t size = 0;
};

// The most members indexed in one archive: beyond it the archive gets no table (its
// bytes are stored as always). Bounds a PUT's memory and the index batch that commits it.
inline constexpr size_t kMaxTarMembers = 100000;
// The longest pax extended header or GNU long name accepted.
inline constexpr size_t kMaxTarExtendedHeader = size_t{64} << 10;

class TarIndexer {
 public:
  explicit TarIndexer(size_t max_members = kMaxTarMembers) : max_members_(max_members) {}

  // The next `n` bytes of the archive.
  void Update(const char* p, size_t n);
  // How many of the next bytes the table does not depend on (member data and padding):
  // a reader of stored bytes may Skip them instead of reading them.
  uint64_t Skippable() const { return state_ == State::kData ? remaining_ : 0; }
  void Skip(uint64_t n);
  // No more bytes can change the outcome: the archive ended (its zero blocks were seen) or
  // the bytes are not an archive this reads.
  bool done() const { return state_ == State::kEnd || state_ == State::kFailed; }
  bool failed() const { return state_ == State::kFailed; }
  uint64_t position() const { return pos_; }

  // After the last byte: the regular-file members in archive order, or nullopt when the
  // bytes are not a whole tar archive (a first block that is no ustar header, a bad
  // checksum, a truncated member, sparse or multi-volume members, too many members).
  // An archive may end with its zero blocks or, as GNU tar accepts, at a header boundary.
  std::optional<std::vector<TarEntry>> Finish();

 private:
  enum class State { kHeader, kData, kLongName, kPax, kEnd, kFailed };
  void Header();
  void Extended();
  void Fail() { state_ = State::kFailed; }

  size_t max_members_;
  State state_ = State::kHeader;
  uint64_t pos_ = 0;
  std::string block_;       // the header block (or extended data) being gathered
  uint64_t want_ = 512;     // bytes block_ is gathering
  uint64_t remaining_ = 0;  // kData: data and padding still to pass
  uint64_t padding_ = 0;    // kLongName/kPax: padding after the extended data
  bool first_ = true;       // no header read yet
  bool zero_seen_ = false;  // one zero block seen (the end needs two, or EOF)
  // From a pax header or GNU long name, for the next member only.
  std::optional<std::string> next_name_;
  std::optional<uint64_t> next_size_;
  std::vector<TarEntry> members_;
};

}  // namespace sluice
