#include "io/mem_fs.h"

#include <gtest/gtest.h>

namespace sluice::io {
namespace {

std::string Read(MemFileSystem& fs, const std::string& p) {
  auto r = fs.ReadWholeFile(p);
  return r.ok() ? *r : "<" + std::string(ErrName(r.status().code())) + ">";
}

TEST(MemFs, UnsyncedDataAndEntriesVanishOnDrop) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto f = fs.NewWritableFile("/d/a");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("hello", 5).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append(" world", 6).ok());
  EXPECT_EQ(Read(fs, "/d/a"), "hello world");
  fs.DropUnsynced();
  // The directory entry was never synced: the file is gone entirely.
  EXPECT_EQ(Read(fs, "/d/a"), "<kNotFound>");
}

// An extension (OpenAt) not synced is undone by a power cut; a synced one stays.
TEST(MemFs, OpenAtExtendsAndUnsyncedExtensionsVanish) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto f = fs.NewWritableFile("/d/a");
  ASSERT_TRUE((*f)->Append("hello", 5).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  auto a = fs.OpenAt("/d/a", 5);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Append(" world", 6).ok());
  EXPECT_EQ(Read(fs, "/d/a"), "hello world");
  fs.DropUnsynced();
  EXPECT_EQ(Read(fs, "/d/a"), "hello");
  auto b = fs.OpenAt("/d/a", 5);
  ASSERT_TRUE((*b)->Append("!", 1).ok());
  ASSERT_TRUE((*b)->Sync().ok());
  fs.DropUnsynced();
  EXPECT_EQ(Read(fs, "/d/a"), "hello!");
  EXPECT_EQ(fs.OpenAt("/d/a", 7).status().code(), Err::kCorruption);
}

TEST(MemFs, SyncedDirKeepsSyncedBytesOnly) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto f = fs.NewWritableFile("/d/a");
  ASSERT_TRUE((*f)->Append("hello", 5).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE((*f)->Append(" world", 6).ok());
  fs.DropUnsynced();
  EXPECT_EQ(Read(fs, "/d/a"), "hello");
}

TEST(MemFs, UnsyncedRenameIsUndone) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/a").ok());
  ASSERT_TRUE(fs.CreateDirs("/b").ok());
  ASSERT_TRUE(fs.WriteWholeFileDurably("/a/x", "data").ok());
  ASSERT_TRUE(fs.Rename("/a/x", "/b/x").ok());
  EXPECT_TRUE(fs.Exists("/b/x"));
  fs.DropUnsynced();
  EXPECT_TRUE(fs.Exists("/a/x"));
  EXPECT_FALSE(fs.Exists("/b/x"));
}

TEST(MemFs, FaultsFailChosenCalls) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  fs.SetFault([](std::string_view op, const std::string&) {
    return op == "sync" ? Status(Err::kIoError, "injected") : Status::Ok();
  });
  auto f = fs.NewWritableFile("/d/a");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Append("x", 1).ok());
  EXPECT_EQ((*f)->Sync().code(), Err::kIoError);
}

TEST(MemFs, CreateIsExclusiveAndListWorks) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d/e").ok());
  ASSERT_TRUE(fs.NewWritableFile("/d/a").ok());
  EXPECT_EQ(fs.NewWritableFile("/d/a").status().code(), Err::kAlreadyExists);
  EXPECT_EQ(fs.NewWritableFile("/nodir/a").status().code(), Err::kNotFound);
  auto names = fs.ListDir("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 1u);  // "a"; directories are tracked separately
  EXPECT_TRUE(fs.Remove("/d/a").ok());
  EXPECT_EQ(fs.Remove("/d/a").code(), Err::kNotFound);
}

}  // namespace
}  // namespace sluice::io
