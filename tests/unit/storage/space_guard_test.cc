// storage::SpaceGuard and the local store under it, on a MemFileSystem of a fixed size.
#include "storage/local/space_guard.h"

#include <gtest/gtest.h>

#include "io/mem_fs.h"
#include "storage/local/local_data_store.h"

namespace sluice::storage {
namespace {

constexpr uint64_t kMiB = 1 << 20;

struct Fixture {
  io::MemFileSystem fs;
  io::ManualClock clock{1'000'000};
  std::unique_ptr<SpaceGuard> guard;
  explicit Fixture(uint64_t capacity, uint64_t reserve = 4 * kMiB, uint64_t ballast = 1 * kMiB) {
    fs.SetCapacity(capacity);
    EXPECT_TRUE(fs.CreateDirs("/data").ok());
    guard =
        std::make_unique<SpaceGuard>(&fs, &clock, "/data", SpaceGuard::Options{reserve, ballast});
    EXPECT_TRUE(guard->Init().ok());
  }
  void Fill(const std::string& name, uint64_t bytes) {  // another program's file
    auto f = fs.NewWritableFile("/data/" + name);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(std::string(bytes, 'f').data(), bytes).ok());
  }
};

TEST(SpaceGuard, TheDefaultsFollowTheDiskAndTheBallastIsWritten) {
  io::MemFileSystem fs;
  fs.SetCapacity(1000 * kMiB);
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  io::ManualClock clock(0);
  SpaceGuard g(&fs, &clock, "/d", {});
  ASSERT_TRUE(g.Init().ok());
  EXPECT_EQ(g.reserve(), 50 * kMiB);                   // 5%
  EXPECT_EQ(g.state().ballast, 12 * kMiB + kMiB / 2);  // a quarter of it
  EXPECT_TRUE(fs.Exists("/d/reserve"));
  io::MemFileSystem small;
  small.SetCapacity(100 * kMiB);
  ASSERT_TRUE(small.CreateDirs("/d").ok());
  SpaceGuard s(&small, &clock, "/d", {});
  ASSERT_TRUE(s.Init().ok());
  EXPECT_EQ(s.reserve(), 16 * kMiB);  // at least 16 MiB
}

TEST(SpaceGuard, NewDataStopsAtTheReserveAndResumesWhenSpaceIsFreed) {
  Fixture f(32 * kMiB);  // 1 MiB ballast: 31 MiB free, 27 MiB above the reserve
  EXPECT_TRUE(f.guard->Check(27 * kMiB).ok());
  EXPECT_EQ(f.guard->Check(27 * kMiB + 1).code(), Err::kNoSpace);
  // Admitted bytes count until the next look at the disk, which then sees them written.
  EXPECT_TRUE(f.guard->Admit(20 * kMiB).ok());
  f.Fill("admitted", 20 * kMiB);
  Status s = f.guard->Admit(8 * kMiB);
  EXPECT_EQ(s.code(), Err::kNoSpace);
  EXPECT_NE(s.message().find("keeps 4 MiB"), std::string_view::npos) << s.ToString();
  EXPECT_TRUE(f.guard->Health().ok());  // 7 MiB above the reserve
  f.Fill("big", 6 * kMiB + kMiB / 2);
  f.clock.Advance(200'000);
  EXPECT_EQ(f.guard->Check(2 * kMiB).code(), Err::kNoSpace);
  EXPECT_EQ(f.guard->Health().code(), Err::kNoSpace);  // under 1 MiB above the reserve
  ASSERT_TRUE(f.fs.Remove("/data/big").ok());
  EXPECT_TRUE(f.guard->Check(2 * kMiB).ok());  // seen at once: a refusal looks again
  EXPECT_TRUE(f.guard->Health().ok());
}

TEST(SpaceGuard, TheIndexGetsTheBallastWhenTheDiskIsFullAndItIsRestoredLater) {
  Fixture f(32 * kMiB);
  f.Fill("other", 31 * kMiB - 100 * 1024);  // another program leaves 100 KiB
  EXPECT_EQ(f.guard->state().ballast, kMiB);
  EXPECT_TRUE(f.guard->RoomForIndex(4096).ok());  // figures under 100 ms old are trusted
  EXPECT_EQ(f.guard->state().ballast, kMiB);
  f.clock.Advance(200'000);
  EXPECT_TRUE(f.guard->RoomForIndex(4096).ok());  // the ballast goes
  EXPECT_EQ(f.guard->state().ballast, 0u);
  EXPECT_FALSE(f.fs.Exists("/data/reserve"));
  f.Fill("more", kMiB);  // and the rest is taken too
  f.clock.Advance(200'000);
  Status s = f.guard->RoomForIndex(4096);
  EXPECT_EQ(s.code(), Err::kNoSpace);
  EXPECT_NE(s.message().find("not even a delete"), std::string_view::npos) << s.ToString();
  ASSERT_TRUE(f.fs.Remove("/data/other").ok());
  EXPECT_TRUE(f.guard->RoomForIndex(4096).ok());
  f.guard->RestoreBallast();
  EXPECT_EQ(f.guard->state().ballast, kMiB);
  EXPECT_TRUE(f.fs.Exists("/data/reserve"));
}

TEST(SpaceGuard, TheLocalStoreRefusesDataPastTheReserveAndLeavesNothing) {
  Fixture f(32 * kMiB);
  LocalDataStore store(&f.fs, io::SystemRandom(), "/data", f.guard.get());
  ASSERT_TRUE(store.Init().ok());
  // Known size: refused before a byte is written.
  EXPECT_EQ(store.Create(28 * kMiB).status().code(), Err::kNoSpace);
  EXPECT_TRUE(store.ListUnpublished()->empty());
  // Unknown size: refused at the append that would cross it, and the file goes with the writer.
  {
    auto w = store.Create(0);
    ASSERT_TRUE(w.ok());
    const std::string piece(kMiB, 'x');
    Status s = Status::Ok();
    int written = 0;
    for (; written < 40 && s.ok(); written++) s = (*w)->Append(piece.data(), piece.size());
    EXPECT_EQ(s.code(), Err::kNoSpace);
    EXPECT_LE(written, 28);
  }
  EXPECT_TRUE(store.ListUnpublished()->empty());
  // Inline bytes count twice (the index's log, then its table file).
  EXPECT_EQ(store.AdmitInline(14 * kMiB).code(), Err::kNoSpace);
  EXPECT_TRUE(store.AdmitInline(13 * kMiB).ok());
  // The readiness probe: ready while 1 MiB more would fit.
  f.clock.Advance(1'000'000);
  EXPECT_TRUE(store.CheckWritable().ok());
  f.Fill("other", 26 * kMiB + kMiB / 2);
  Status s = store.CheckWritable();
  EXPECT_EQ(s.code(), Err::kNoSpace) << s.ToString();
  ASSERT_TRUE(f.fs.Remove("/data/other").ok());
  EXPECT_TRUE(store.CheckWritable().ok());
}

}  // namespace
}  // namespace sluice::storage
