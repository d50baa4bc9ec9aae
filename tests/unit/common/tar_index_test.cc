// TarIndexer: member tables of ustar, pax and GNU archives, fed in any split or read by
// skipping member data, and every way bytes fail to be an archive it reads. (Archives of
// Python's tarfile in all its formats and of GNU tar: tests/integration/test_tar_members.py.)
// compat: tar-members
#include "common/tar_index.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/tar.h"

namespace sluice {
namespace {

struct Built {
  std::string bytes;
  std::vector<TarEntry> members;  // as written
};

// An archive of (name, data) members by sluice's own writer (ustar; pax for long names).
Built Archive(const std::vector<std::pair<std::string, std::string>>& files, bool end = true) {
  Built b;
  for (const auto& [name, data] : files) {
    TarMember m;
    m.name = name;
    m.size = data.size();
    b.bytes += TarHeaderOf(m);
    b.members.push_back({name, b.bytes.size(), data.size()});
    b.bytes += data;
    b.bytes.append(TarPadding(data.size()), '\0');
  }
  if (end) b.bytes.append(kTarEndSize, '\0');
  return b;
}

void SetChecksum(char* h) {
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += static_cast<unsigned char>(h[i]);
  std::snprintf(h + 148, 8, "%06o", sum);
}

// A raw header block: GNU magic, the given type and size field.
std::string Header(const std::string& name, char type, uint64_t size, bool gnu = true) {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(h.data() + 100, 8, "%07o", 0644);
  std::snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  h[156] = type;
  std::memcpy(h.data() + 257,
              gnu ? "ustar  "
                  : "ustar\0"
                    "00",
              8);
  SetChecksum(h.data());
  return h;
}

std::string Padded(std::string s) {
  s.append(TarPadding(s.size()), '\0');
  return s;
}

std::optional<std::vector<TarEntry>> Whole(const std::string& bytes) {
  TarIndexer t;
  t.Update(bytes.data(), bytes.size());
  return t.Finish();
}

// As a reader of stored bytes does it: skip what may be skipped, read a block at a time.
std::optional<std::vector<TarEntry>> BySkipping(const std::string& bytes, uint64_t* read) {
  TarIndexer t;
  *read = 0;
  while (!t.done() && t.position() < bytes.size()) {
    if (uint64_t s = std::min<uint64_t>(t.Skippable(), bytes.size() - t.position())) {
      t.Skip(s);
      continue;
    }
    size_t n = std::min<size_t>(512, bytes.size() - t.position());
    t.Update(bytes.data() + t.position(), n);
    *read += n;
  }
  return t.Finish();
}

void ExpectMembers(const std::optional<std::vector<TarEntry>>& got,
                   const std::vector<TarEntry>& want) {
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), want.size());
  for (size_t i = 0; i < want.size(); i++) {
    EXPECT_EQ((*got)[i].name, want[i].name);
    EXPECT_EQ((*got)[i].offset, want[i].offset) << want[i].name;
    EXPECT_EQ((*got)[i].size, want[i].size) << want[i].name;
  }
}

// The writer's numeric fields, byte for byte as ustar (POSIX.1-1988) has them: zero-padded
// octal with a NUL, and the checksum as six digits, NUL, space, over the header with its
// own field read as spaces.
TEST(TarHeader, NumericFieldsAsUstarWritesThem) {
  TarMember m;
  m.name = "a/sample.bin";
  m.size = 4096;
  m.mtime_seconds = 1700000000;
  const std::string h = TarHeaderOf(m);
  ASSERT_EQ(h.size(), 512u);
  EXPECT_EQ(std::string(h.data() + 100, 8), std::string("0000644\0", 8));
  EXPECT_EQ(std::string(h.data() + 108, 8), std::string("0000000\0", 8));
  EXPECT_EQ(std::string(h.data() + 124, 12), std::string("00000010000\0", 12));
  EXPECT_EQ(std::string(h.data() + 136, 12), std::string("14524770400\0", 12));  // 1700000000
  EXPECT_EQ(h[156], '0');
  unsigned sum = 0;
  for (size_t i = 0; i < 512; i++)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  char want[9];
  std::snprintf(want, sizeof want, "%06o", sum);
  EXPECT_EQ(std::string(h.data() + 148, 8), std::string(want, 6) + std::string("\0 ", 2));
  // The largest size in 11 digits, and one past it (then the pax "size" record carries it).
  m.size = (uint64_t{1} << 33) - 1;
  EXPECT_EQ(TarHeaderOf(m).substr(124, 12), std::string("77777777777\0", 12));
  m.size = uint64_t{1} << 33;
  const std::string big = TarHeaderOf(m);
  ASSERT_EQ(big.size(), 1536u);  // pax header, its records, the ustar header
  EXPECT_NE(big.find("19 size=8589934592\n"), std::string::npos);  // a record counts itself
  // Where counting its own digits adds one: " k=" + value + "\n" is the value plus 4 bytes.
  m.size = 1;
  m.records = {{"k", std::string(93, 'v')}};  // 97 + 2 digits = 99
  EXPECT_EQ(TarHeaderOf(m).substr(512, 4), "99 k");
  m.records = {{"k", std::string(94, 'v')}};  // 98 + 2 = 100 has 3 digits: 98 + 3 = 101
  EXPECT_EQ(TarHeaderOf(m).substr(512, 5), "101 k");
  EXPECT_EQ(big.substr(1024 + 124, 12), std::string("00000000000\0", 12));
}

TEST(TarIndexer, FindsEveryMemberWhateverTheSplit) {
  const std::string long_name = "deep/" + std::string(150, 'd') + "/x.bin";  // a pax header
  Built b = Archive({{"a.jpg", std::string(1000, 'a')},
                     {"a.cls", "7"},
                     {"empty", ""},
                     {long_name, std::string(513, 'l')},
                     {"z", std::string(512, 'z')}});
  ExpectMembers(Whole(b.bytes), b.members);
  for (size_t split = 1; split < b.bytes.size(); split += 37) {
    TarIndexer t;
    t.Update(b.bytes.data(), split);
    t.Update(b.bytes.data() + split, b.bytes.size() - split);
    ExpectMembers(t.Finish(), b.members);
  }
  TarIndexer bytewise;
  for (char c : b.bytes) bytewise.Update(&c, 1);
  ExpectMembers(bytewise.Finish(), b.members);
}

TEST(TarIndexer, ReadingStoredBytesSkipsMemberData) {
  Built b = Archive({{"big", std::string(1 << 20, 'b')}, {"small", "s"}});
  uint64_t read = 0;
  ExpectMembers(BySkipping(b.bytes, &read), b.members);
  EXPECT_LE(read, 512u * 4) << "only header blocks are read";
}

TEST(TarIndexer, GnuLongNamesAndBase256Sizes) {
  const std::string name(300, 'n');
  std::string bytes = Header("././@LongLink", 'L', name.size() + 1) + Padded(name + '\0');
  std::string file = Header("short", '0', 0);
  // A size of 8 GiB in GNU's base-256, too large for 11 octal digits.
  std::memset(file.data() + 124, 0, 12);
  file[124] = static_cast<char>(0x80);
  const uint64_t big = uint64_t{8} << 30;
  for (int i = 0; i < 8; i++) file[135 - i] = static_cast<char>((big >> (8 * i)) & 0xff);
  SetChecksum(file.data());
  bytes += file;
  TarIndexer t;
  t.Update(bytes.data(), bytes.size());
  EXPECT_EQ(t.Skippable(), big);
  t.Skip(big);
  std::string end(1024, '\0');
  t.Update(end.data(), end.size());
  auto got = t.Finish();
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].name, name);
  EXPECT_EQ((*got)[0].offset, 512u * 3);
  EXPECT_EQ((*got)[0].size, big);
}

TEST(TarIndexer, PaxPathAndSizeApplyToTheNextMemberOnly) {
  const std::string records = "20 path=renamed.bin\n";
  std::string bytes = Header("PaxHeader", 'x', records.size(), false) + Padded(records);
  bytes += Header("orig", '0', 3, false) + Padded("abc");
  bytes += Header("next", '0', 1, false) + Padded("n");
  bytes += std::string(1024, '\0');
  ExpectMembers(Whole(bytes), {{"renamed.bin", 1536, 3}, {"next", 2560, 1}});
}

TEST(TarIndexer, SkipsWhatIsNotARegularFile) {
  std::string bytes = Header("dir/", '5', 0) + Header("link", '2', 0) + Header("old-dir/", '\0', 0);
  bytes += Header("g", 'g', 20) + Padded(std::string(20, 'g'));  // a pax global header
  bytes += Header("file", '0', 2) + Padded("ff");
  bytes += std::string(1024, '\0');
  ExpectMembers(Whole(bytes), {{"file", 512 * 6, 2}});
}

TEST(TarIndexer, ArchivesEndingWithoutZeroBlocksAtAHeaderBoundary) {
  Built b = Archive({{"a", "1"}, {"b", "22"}}, false);
  ExpectMembers(Whole(b.bytes), b.members);
  // Trailing bytes after the end (tar pads to a 10 KiB record) are not read.
  Built c = Archive({{"a", "1"}});
  c.bytes += std::string(9000, '\x7f');
  ExpectMembers(Whole(c.bytes), c.members);
}

TEST(TarIndexer, RefusesWhatIsNotAWholeArchive) {
  Built b = Archive({{"a", std::string(2000, 'a')}, {"b", "b"}});
  EXPECT_FALSE(Whole("").has_value());
  EXPECT_FALSE(Whole(std::string(1024, '\0')).has_value()) << "no header at all";
  EXPECT_FALSE(Whole(std::string(5000, 'x')).has_value());
  EXPECT_FALSE(Whole(b.bytes.substr(0, 1500)).has_value()) << "truncated inside a member";
  EXPECT_FALSE(Whole(b.bytes.substr(0, 700)).has_value()) << "truncated inside a header";
  std::string bad = b.bytes;
  bad[2560 + 10] ^= 1;  // the second header's name: its checksum no longer holds
  EXPECT_FALSE(Whole(bad).has_value());
  std::string v7 = b.bytes;
  std::memset(v7.data() + 257, 0, 8);  // no ustar magic on the first header
  SetChecksum(v7.data());
  EXPECT_FALSE(Whole(v7).has_value());
  EXPECT_FALSE(Whole(Header("s", 'S', 0) + std::string(1024, '\0')).has_value()) << "sparse";
  const std::string sparse_pax = "22 GNU.sparse.major=1\n";
  EXPECT_FALSE(Whole(Header("p", 'x', sparse_pax.size()) + Padded(sparse_pax) +
                     Header("f", '0', 0) + std::string(1024, '\0'))
                   .has_value());
  const std::string broken_pax = "99 path=x\n";
  EXPECT_FALSE(Whole(Header("p", 'x', broken_pax.size()) + Padded(broken_pax) +
                     Header("f", '0', 0) + std::string(1024, '\0'))
                   .has_value());
  EXPECT_FALSE(Whole(Header("L", 'L', kMaxTarExtendedHeader + 1)).has_value());
}

TEST(TarIndexer, RefusesMoreMembersThanItsLimit) {
  Built b = Archive({{"a", "1"}, {"b", "2"}, {"c", "3"}});
  TarIndexer two(2);
  two.Update(b.bytes.data(), b.bytes.size());
  EXPECT_TRUE(two.failed());
  EXPECT_FALSE(two.Finish().has_value());
  TarIndexer three(3);
  three.Update(b.bytes.data(), b.bytes.size());
  ExpectMembers(three.Finish(), b.members);
}

}  // namespace
}  // namespace sluice
