// Crash safety of the publish protocol, LevelDB-style: run the same sequence the S3
// operations run (write data, commit, publish through the index, rename, release),
// cut power at every step by dropping whatever was not synced, recover, and check:
// - every acknowledged object reads back byte-identical;
// - no object is visible whose write was not acknowledged, except the one in flight,
//   and that one is whole;
// - no data is left that nothing references.
#include <gtest/gtest.h>

#include <map>

#include "io/mem_fs.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "server/recovery.h"
#include "storage/local/local_data_store.h"
#include "testutil/names.h"

namespace sluice::server {
using namespace sluice::testing_names;  // NOLINT
namespace {

struct World {
  io::MemFileSystem fs;
  meta::MemKv kv;
  meta::KvIndex index{&kv, true};
  storage::LocalDataStore data{&fs, io::SystemRandom(), "/d"};
};

// One PutObject as ops/object.cc performs it. `stop_after` cuts it short after that many
// steps (a crash); returns whether it was acknowledged.
bool PutObject(World& w, const std::string& key, const std::string& bytes, int stop_after) {
  int step = 0;
  auto writer = std::move(w.data.Create()).value();
  if (++step > stop_after) return false;
  EXPECT_TRUE(writer->Append(bytes.data(), bytes.size()).ok());
  if (++step > stop_after) return false;
  EXPECT_TRUE(writer->Commit().ok());
  if (++step > stop_after) return false;
  meta::ObjectMeta m;
  m.size = bytes.size();
  m.etag = "e";
  m.segments.push_back({writer->id(), bytes.size(), ""});
  std::vector<std::string> released;
  EXPECT_TRUE(w.index.PutObject("b"_b, K(key), m, {}, &released).ok());
  if (++step > stop_after) return true;  // durable from here on: acknowledged below
  w.data.Published(writer->id());
  if (++step > stop_after) return true;
  for (auto& id : released) EXPECT_TRUE(w.data.Delete(id).ok());
  EXPECT_TRUE(w.index.GcDone(released).ok());
  return true;
}

// One append as ops/append.cc performs it on a file-backed object: extend the last data
// file at the recorded size, sync, one conditional index write.
bool AppendObject(World& w, const std::string& key, const std::string& bytes, int stop_after) {
  int step = 0;
  auto cur = w.index.GetObject("b"_b, K(key));
  EXPECT_TRUE(cur.ok());
  const meta::Segment last = cur->segments.back();
  auto writer = std::move(w.data.Extend(last.data_id, last.size)).value();
  if (++step > stop_after) return false;
  EXPECT_TRUE(writer->Append(bytes.data(), bytes.size()).ok());
  if (++step > stop_after) return false;
  EXPECT_TRUE(writer->Commit().ok());
  if (++step > stop_after) return false;
  meta::ObjectMeta m = *cur;
  m.size += bytes.size();
  m.segments.back().size += bytes.size();
  meta::WriteCondition cond;
  cond.if_extends = meta::WriteCondition::Extends{cur->size, last.data_id};
  std::vector<std::string> released;
  EXPECT_TRUE(w.index.PutObject("b"_b, K(key), m, cond, &released).ok());
  EXPECT_TRUE(released.empty());
  return true;
}

std::string Read(World& w, const std::string& key) {
  auto m = w.index.GetObject("b"_b, K(key));
  if (!m.ok()) return "<absent>";
  std::string out;
  for (auto& s : m->segments) {
    auto r = w.data.Open(s.data_id);
    if (!r.ok()) return "<missing data>";
    std::string buf(s.size, '\0');
    size_t got = 0;
    EXPECT_TRUE((*r)->Read(0, buf.data(), buf.size(), &got).ok());
    buf.resize(got);
    out += buf;
  }
  return out;
}

TEST(CrashRecovery, PowerCutAtEveryStepOfAPut) {
  for (int cut = 0; cut <= 5; cut++) {
    SCOPED_TRACE("cut after step " + std::to_string(cut));
    World w;
    ASSERT_TRUE(w.data.Init().ok());
    ASSERT_TRUE(w.index.CreateBucket({"b"_b, 1, "o", ""}).ok());
    ASSERT_TRUE(PutObject(w, "k", "version-one", 99));
    bool acked = PutObject(w, "k", "version-two!", cut);
    w.fs.DropUnsynced();
    w.kv.DropUnsynced();
    auto stats = Recover(&w.index, &w.data);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    std::string got = Read(w, "k");
    if (acked)
      EXPECT_EQ(got, "version-two!");
    else
      EXPECT_EQ(got, "version-one");
    // Nothing unreferenced remains: exactly one data file, the current one.
    auto m = w.index.GetObject("b"_b, "k"_k);
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(w.data.ListUnpublished()->empty());
    EXPECT_TRUE(w.index.PendingGc(10)->empty());
    size_t files = 0;
    for (int i = 0; i < 256; i++) {
      char d[3];
      snprintf(d, sizeof d, "%02x", i);
      files += w.fs.ListDir(std::string("/d/objects/") + d)->size();
    }
    EXPECT_EQ(files, 1u);
  }
}

// Appends: a cut before the index commit leaves the acknowledged bytes exactly (the unsynced
// or uncommitted tail past the recorded size is invisible and cut by the next append); a
// cut after it keeps the append. Each round appends to what the last round left.
TEST(CrashRecovery, PowerCutAtEveryStepOfAnAppend) {
  World w;
  ASSERT_TRUE(w.data.Init().ok());
  ASSERT_TRUE(w.index.CreateBucket({"b"_b, 1, "o", ""}).ok());
  ASSERT_TRUE(PutObject(w, "log", "start;", 99));
  std::string acked = "start;";
  for (int round = 0; round < 12; round++) {
    const int cut = round % 4;
    SCOPED_TRACE("round " + std::to_string(round) + ", cut after step " + std::to_string(cut));
    const std::string rec = "record-" + std::to_string(round) + ";";
    if (AppendObject(w, "log", rec, cut == 3 ? 99 : cut)) acked += rec;
    w.fs.DropUnsynced();
    w.kv.DropUnsynced();
    auto stats = Recover(&w.index, &w.data);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(Read(w, "log"), acked);
    EXPECT_TRUE(w.data.ListUnpublished()->empty());
    EXPECT_TRUE(w.index.PendingGc(10)->empty());
  }
}

TEST(CrashRecovery, ManyObjectsRandomCut) {
  World w;
  ASSERT_TRUE(w.data.Init().ok());
  ASSERT_TRUE(w.index.CreateBucket({"b"_b, 1, "o", ""}).ok());
  std::map<std::string, std::string> acked;
  for (int i = 0; i < 40; i++) {
    std::string key = "k" + std::to_string(i % 13);
    std::string val = "value-" + std::to_string(i) + std::string(i, 'x');
    if (PutObject(w, key, val, i % 7 == 3 ? i % 5 : 99)) acked[key] = val;
    if (i % 7 == 3) {
      w.fs.DropUnsynced();
      w.kv.DropUnsynced();
      ASSERT_TRUE(Recover(&w.index, &w.data).ok());
    }
  }
  for (auto& [k, v] : acked) EXPECT_EQ(Read(w, k), v) << k;
}

TEST(CrashRecovery, FailedIndexCommitLeavesNothingVisible) {
  World w;
  ASSERT_TRUE(w.data.Init().ok());
  ASSERT_TRUE(w.index.CreateBucket({"b"_b, 1, "o", ""}).ok());
  w.kv.SetWriteFault(Status(Err::kIoError, "disk full"));
  auto writer = std::move(w.data.Create()).value();
  ASSERT_TRUE(writer->Append("abc", 3).ok());
  ASSERT_TRUE(writer->Commit().ok());
  meta::ObjectMeta m;
  m.segments.push_back({writer->id(), 3, ""});
  EXPECT_EQ(w.index.PutObject("b"_b, "k"_k, m, {}, nullptr).status().code(), Err::kIoError);
  w.kv.SetWriteFault(Status::Ok());
  EXPECT_EQ(Read(w, "k"), "<absent>");
  auto stats = Recover(&w.index, &w.data);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->discarded, 1u);
  EXPECT_TRUE(w.data.ListUnpublished()->empty());
}

}  // namespace
}  // namespace sluice::server
