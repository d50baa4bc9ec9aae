#include "server/audit_log.h"

#include <gtest/gtest.h>

#include "io/mem_fs.h"

namespace sluice::server {
namespace {

s3::AuditRecord Rec(std::string action) {
  s3::AuditRecord r;
  r.principal = "root";
  r.action = std::move(action);
  r.status = 204;
  return r;
}

TEST(FileAuditLog, AppendsAndNeverRewrites) {
  io::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  {
    auto log = FileAuditLog::Open(&fs, "/d/audit.log");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    (*log)->Record(Rec("DeleteObject"));
    ASSERT_TRUE((*log)->Sync().ok());
  }
  std::string first = *fs.ReadWholeFile("/d/audit.log");
  EXPECT_NE(first.find("\"action\":\"DeleteObject\""), std::string::npos);
  {
    auto log = FileAuditLog::Open(&fs, "/d/audit.log");
    ASSERT_TRUE(log.ok());
    (*log)->Record(Rec("DeleteBucket"));
  }  // closing syncs
  std::string both = *fs.ReadWholeFile("/d/audit.log");
  EXPECT_EQ(both.substr(0, first.size()), first);
  EXPECT_NE(both.find("\"action\":\"DeleteBucket\"", first.size()), std::string::npos);
}

TEST(FileAuditLog, ReopenAfterARotationWritesTheNewFileAndKeepsTheOld) {
  // logrotate renames the file, then SIGHUP reopens it: the records before the reopen stay
  // in the renamed file, synced; those after go to a new file at the path.
  io::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto log = FileAuditLog::Open(&fs, "/d/audit.log");
  ASSERT_TRUE(log.ok());
  (*log)->Record(Rec("DeleteObject"));
  ASSERT_TRUE(fs.Rename("/d/audit.log", "/d/audit.log.1").ok());
  (*log)->Record(Rec("PutBucketPolicy"));  // still the old file: it is open
  ASSERT_TRUE((*log)->Reopen(&fs).ok());
  (*log)->Record(Rec("DeleteBucket"));
  ASSERT_TRUE((*log)->Sync().ok());
  std::string old = *fs.ReadWholeFile("/d/audit.log.1");
  std::string now = *fs.ReadWholeFile("/d/audit.log");
  EXPECT_NE(old.find("\"action\":\"DeleteObject\""), std::string::npos) << old;
  EXPECT_NE(old.find("\"action\":\"PutBucketPolicy\""), std::string::npos) << old;
  EXPECT_EQ(old.find("DeleteBucket"), std::string::npos) << old;
  EXPECT_NE(now.find("\"action\":\"DeleteBucket\""), std::string::npos) << now;
  EXPECT_EQ(now.find("DeleteObject"), std::string::npos) << now;
  EXPECT_EQ((*log)->failures(), 0u);
}

TEST(FileAuditLog, AReopenThatCannotOpenKeepsTheOldFile) {
  io::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto log = FileAuditLog::Open(&fs, "/d/audit.log");
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE(fs.Rename("/d/audit.log", "/d/audit.log.1").ok());
  fs.SetFault([](std::string_view op, const std::string&) {
    return op == "open" ? Status(Err::kIoError, "injected") : Status::Ok();
  });
  EXPECT_FALSE((*log)->Reopen(&fs).ok());
  fs.SetFault(nullptr);
  (*log)->Record(Rec("DeleteObject"));
  ASSERT_TRUE((*log)->Sync().ok());
  EXPECT_NE(fs.ReadWholeFile("/d/audit.log.1")->find("DeleteObject"), std::string::npos);
  EXPECT_FALSE(fs.Exists("/d/audit.log"));
}

TEST(FileAuditLog, ALineCutByACrashIsEndedBeforeTheNextRecord) {
  io::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  ASSERT_TRUE(fs.WriteWholeFileDurably("/d/audit.log", "{\"time\":\"2026-").ok());
  {
    auto log = FileAuditLog::Open(&fs, "/d/audit.log");
    ASSERT_TRUE(log.ok());
    (*log)->Record(Rec("PutBucketPolicy"));
  }
  std::string text = *fs.ReadWholeFile("/d/audit.log");
  EXPECT_EQ(text.substr(0, 15), "{\"time\":\"2026-\n");
  EXPECT_EQ(text.substr(15, 9), "{\"time\":\"");
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace sluice::server
