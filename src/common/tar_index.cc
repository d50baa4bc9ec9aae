#include "common/tar_index.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"

namespace sluice {
namespace {

constexpr size_t kBlock = 512;

uint64_t Padded(uint64_t size) { return size + (kBlock - size % kBlock) % kBlock; }

// A numeric header field: octal digits between optional spaces and NULs, or GNU's base-256
// (high bit of the first byte set) for values too large for octal. nullopt when neither.
std::optional<uint64_t> Numeric(const char* f, size_t len) {
  const auto* u = reinterpret_cast<const unsigned char*>(f);
  if (u[0] & 0x80) {
    if (u[0] != 0x80) return std::nullopt;  // 0xff: negative
    uint64_t v = 0;
    for (size_t i = 1; i < len; i++) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | u[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < len && (f[i] == ' ' || f[i] == '\0')) i++;
  uint64_t v = 0;
  bool digits = false;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<uint64_t>(f[i] - '0');
    digits = true;
  }
  for (; i < len; i++)
    if (f[i] != ' ' && f[i] != '\0') return std::nullopt;
  if (!digits) return uint64_t{0};
  return v;
}

// The checksum field holds the sum of the header's bytes with the field itself counted as
// spaces; some old writers summed signed chars.
bool ChecksumOk(const std::string& b) {
  auto stored = Numeric(b.data() + 148, 8);
  if (!stored) return false;
  uint64_t unsigned_sum = uint64_t{8} * ' ';
  int64_t signed_sum = int64_t{8} * ' ';
  for (size_t i = 0; i < kBlock; i++) {
    if (i >= 148 && i < 156) continue;
    unsigned_sum += static_cast<unsigned char>(b[i]);
    signed_sum += static_cast<signed char>(b[i]);
  }
  return *stored == unsigned_sum || static_cast<int64_t>(*stored) == signed_sum;
}

std::string Field(const std::string& b, size_t at, size_t len) {
  const char* p = b.data() + at;
  return std::string(p, strnlen(p, len));
}

}  // namespace

void TarIndexer::Update(const char* p, size_t n) {
  while (n > 0 && !done()) {
    if (state_ == State::kData) {
      const uint64_t take = std::min<uint64_t>(n, remaining_);
      Skip(take);
      p += take;
      n -= take;
      continue;
    }
    const size_t take = std::min<size_t>(n, want_ - block_.size());
    block_.append(p, take);
    pos_ += take;
    p += take;
    n -= take;
    if (block_.size() < want_) continue;
    if (state_ == State::kHeader)
      Header();
    else
      Extended();
  }
  if (state_ == State::kEnd) pos_ += n;  // what follows the end is not read
}

void TarIndexer::Skip(uint64_t n) {
  if (state_ != State::kData || n > remaining_) {
    Fail();
    return;
  }
  remaining_ -= n;
  pos_ += n;
  if (remaining_ == 0) {
    state_ = State::kHeader;
    want_ = kBlock;
    block_.clear();
  }
}

void TarIndexer::Header() {
  const std::string& b = block_;
  if (std::all_of(b.begin(), b.end(), [](char c) { return c == '\0'; })) {
    // The end of the archive (two zero blocks; one suffices for tar and tarfile alike).
    if (first_) return Fail();  // not an archive that has members
    state_ = State::kEnd;
    return;
  }
  if (!ChecksumOk(b)) return Fail();
  const bool ustar = b.compare(257, 5, "ustar") == 0;
  if (first_ && !ustar) return Fail();  // only a ustar magic makes bytes a tar here
  first_ = false;
  const bool posix = b.compare(257, 6, std::string("ustar\0", 6)) == 0;
  auto header_size = Numeric(b.data() + 124, 12);
  if (!header_size) return Fail();
  const char type = b[156];
  uint64_t size = next_size_.value_or(*header_size);
  std::string name;
  if (next_name_) {
    name = *next_name_;
  } else {
    name = Field(b, 0, 100);
    const std::string prefix = posix ? Field(b, 345, 155) : std::string();
    if (!prefix.empty()) name = prefix + "/" + name;
  }
  next_name_.reset();
  next_size_.reset();
  block_.clear();
  want_ = kBlock;
  auto skip = [&](uint64_t n) {
    remaining_ = Padded(n);
    state_ = remaining_ ? State::kData : State::kHeader;
  };
  switch (type) {
    case 'L':  // GNU long name: the next member's name is this one's data
    case 'x':  // pax extended header: records for the next member
      if (*header_size > kMaxTarExtendedHeader) return Fail();
      state_ = type == 'L' ? State::kLongName : State::kPax;
      want_ = *header_size;
      padding_ = Padded(*header_size) - *header_size;
      if (want_ == 0) Extended();
      return;
    case 'S':  // GNU sparse and multi-volume members: their data is not their bytes
    case 'M':
      return Fail();
    case '0':
    case '\0':
    case '7': {
      const bool dir = !name.empty() && name.back() == '/';  // an old-style directory
      if (!dir && !name.empty() && IsValidUtf8(name)) {
        if (members_.size() >= max_members_) return Fail();
        members_.push_back({std::move(name), pos_, size});
      }
      return skip(size);
    }
    case '1':  // links, devices, directories, FIFOs: no data follows (as tarfile reads)
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
      return skip(0);
    default:  // 'g' (pax global), 'K' (GNU long link), 'V', 'D' and unknown types: skipped
      return skip(size);
  }
}

void TarIndexer::Extended() {
  const std::string data = std::move(block_);
  const State was = state_;
  block_.clear();
  want_ = kBlock;
  remaining_ = padding_;
  state_ = remaining_ ? State::kData : State::kHeader;
  if (was == State::kLongName) {
    next_name_ = std::string(data.c_str());  // NUL-terminated within its data
    return;
  }
  // pax records: "LEN KEY=VALUE\n", LEN counting the whole record.
  size_t at = 0;
  while (at < data.size()) {
    size_t sp = data.find(' ', at);
    if (sp == std::string::npos || sp == at || sp - at > 20) return Fail();
    uint64_t len = 0;
    for (size_t i = at; i < sp; i++) {
      if (data[i] < '0' || data[i] > '9') return Fail();
      len = len * 10 + static_cast<uint64_t>(data[i] - '0');
    }
    if (len < sp - at + 3 || len > data.size() - at || data[at + len - 1] != '\n') return Fail();
    const std::string_view record(data.data() + sp + 1, at + len - 1 - (sp + 1));
    const size_t eq = record.find('=');
    if (eq == std::string_view::npos) return Fail();
    const std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") {
      next_name_ = std::string(value);
    } else if (key == "size") {
      auto v = ParseUint(value);
      if (!v) return Fail();
      next_size_ = *v;
    } else if (key.substr(0, 10) == "GNU.sparse") {
      return Fail();
    }
    at += len;
  }
}

std::optional<std::vector<TarEntry>> TarIndexer::Finish() {
  const bool at_boundary =
      state_ == State::kHeader && block_.empty() && !first_ && !next_name_ && !next_size_;
  if (state_ != State::kEnd && !at_boundary) return std::nullopt;
  return std::move(members_);
}

}  // namespace sluice
