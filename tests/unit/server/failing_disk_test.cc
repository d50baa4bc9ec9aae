// A disk that starts returning errors (issue #22, item 2). The S3 handler runs in-process
// on loopback over the local data store on a MemFileSystem, and the k-th file system call
// of an operation fails (EIO; or a short append: half the bytes written, then EIO), for
// every k until the operation makes no more calls. After each failure:
// - the request got a clean error answer (a 5xx with an S3 error document), or a 2xx when
//   the failed call came after the commit (publishing is retried by recovery);
// - the server still serves other requests;
// - the object reads back as before the request, or (after a 2xx) as written: never partial;
// - a restart (recovery on the same disk and index, with the disk healthy again) leaves
//   nothing unpublished and changes nothing that was visible;
// Recovery itself is then failed at every call, and run again.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <future>

#include "http/server.h"
#include "io/mem_fs.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "s3/authz.h"
#include "s3/handler.h"
#include "server/recovery.h"
#include "storage/local/local_data_store.h"
#include "testutil/http_exchange.h"
#include "testutil/signer.h"

namespace sluice::server {
namespace {

constexpr int64_t kNow = 1700000000LL * 1000000;

using testutil::Response;

class DiskServer {
 public:
  DiskServer() : index_(&kv_, true), clock_(kNow), pool_(1) {
    EXPECT_TRUE(data_.Init().ok());
    creds_.Add({"DISKKEY", "disksecret", "owner-id", "owner"});
    svc_.index = &async_index_;
    svc_.data = &async_data_;
    svc_.clock = &clock_;
    svc_.random = io::SystemRandom();
    svc_.blocking = &pool_;
    svc_.credentials = &creds_;
    svc_.access = &access_;
    svc_.limits.min_part_size = 5;
    handler_ = std::make_unique<s3::S3Handler>(svc_);
    http::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    server_ = std::make_unique<http::Server>(
        o,
        [this](http::Request& r, http::Body& b, http::Responder& w) {
          return handler_->Handle(r, b, w);
        },
        [this](Err c, std::string_view m, http::ResponseHead* h, std::string* b) {
          handler_->RenderProtocolError(c, m, h, b);
        });
    EXPECT_TRUE(server_->Start().ok());
    fs_.SetFault([this](std::string_view, const std::string&) {
      if (!armed_.load()) return Status::Ok();
      if (++calls_ == fail_at_) return Status(Err::kIoError, "injected EIO");
      return Status::Ok();
    });
  }
  ~DiskServer() {
    server_->Stop();
    pool_.join();
  }

  Response Do(const std::string& method, const std::string& target, const std::string& body = "",
              testutil::Headers h = {}) {
    h.emplace_back("Host", "127.0.0.1");
    if (method == "PUT" || method == "POST")
      h.emplace_back("Content-Length", std::to_string(body.size()));
    size_t q = target.find('?');
    testutil::SignRequest(method, target.substr(0, q),
                          q == std::string::npos ? "" : target.substr(q + 1), h, "DISKKEY",
                          "disksecret", kNow);
    std::string req = method + " " + target + " HTTP/1.1\r\n";
    for (auto& [k, v] : h) req += k + ": " + v + "\r\n";
    req += "\r\n" + body;
    return testutil::Exchange(server_->port(), req, method == "HEAD");
  }
  std::string Get(const std::string& key) {
    Response r = Do("GET", "/bkt/" + key);
    return r.status == 200 ? r.body : "<" + std::to_string(r.status) + ">";
  }

  // Fails the k-th file system call from now on (0: none); returns how many were made.
  void Arm(int k, bool short_appends) {
    calls_ = 0;
    fail_at_ = k;
    fs_.SetShortAppends(short_appends);
    armed_ = true;
  }
  int Disarm() {
    Settle();
    armed_ = false;
    return calls_.load();
  }
  // Waits for the work the last requests left on the blocking pool (one thread: FIFO).
  void Settle() {
    std::promise<void> done;
    boost::asio::post(pool_, [&] { done.set_value(); });
    done.get_future().wait();
  }
  // A restart: recovery over the same disk and index (the disk healthy again).
  Status Restart() {
    Settle();
    auto r = Recover(&index_, &data_);
    return r.ok() ? Status::Ok() : r.status();
  }
  size_t Unpublished() { return data_.ListUnpublished()->size(); }
  meta::Index* index() { return &index_; }
  storage::DataStore* data() { return &data_; }

 private:
  io::MemFileSystem fs_;
  meta::MemKv kv_;
  meta::KvIndex index_;
  storage::LocalDataStore data_{&fs_, io::SystemRandom(), "/d"};
  io::ManualClock clock_;
  auth::StaticCredentialStore creds_;
  boost::asio::thread_pool pool_;
  meta::AsyncIndex async_index_{&index_, &pool_};
  storage::AsyncDataStore async_data_{&data_, &pool_};
  s3::BucketAccessCache access_{&async_index_};
  s3::Services svc_;
  std::unique_ptr<s3::S3Handler> handler_;
  std::unique_ptr<http::Server> server_;
  std::atomic<bool> armed_{false};
  std::atomic<int> calls_{0};
  int fail_at_ = 0;
};

std::string Bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>(seed + i * 7 % 61);
  return s;
}

// Runs `op` with the k-th call failing, for every k, then once with none failing.
// `op` returns the response; `check(status)` checks what is visible afterwards.
void EveryCallFails(DiskServer& s, bool short_appends, const std::string& what,
                    const std::function<Response()>& op,
                    const std::function<void(int status)>& check) {
  const std::string keep = Bytes(100 << 10, 'k');
  int k = 1;
  for (; k < 200; k++) {
    SCOPED_TRACE(what + ": call " + std::to_string(k) + " fails" +
                 (short_appends ? " (short appends)" : ""));
    s.Arm(k, short_appends);
    Response r = op();
    const int made = s.Disarm();
    if (made < k) {  // no call failed: the operation is done
      EXPECT_EQ(r.status / 100, 2) << r.body;
      check(r.status);
      break;
    }
    if (r.status / 100 != 2) {
      EXPECT_EQ(r.status / 100, 5) << r.body;
      EXPECT_NE(r.body.find("<Code>"), std::string::npos) << r.body;
    }
    EXPECT_EQ(s.Get("keep"), keep);  // others are served
    check(r.status);
    ASSERT_TRUE(s.Restart().ok());
    EXPECT_EQ(s.Unpublished(), 0u);
    check(r.status);
    EXPECT_EQ(s.Get("keep"), keep);
  }
  std::printf("%s: %d file system calls, each failed in turn%s\n", what.c_str(), k - 1,
              short_appends ? " (short appends)" : "");
  EXPECT_GT(k, 1) << what << " made no file system call";
  EXPECT_LT(k, 200);
}

class FailingDisk : public ::testing::TestWithParam<bool> {};

TEST_P(FailingDisk, EveryCallOfAWriteFailsCleanlyAndRecoveryIsConsistent) {
  const bool short_appends = GetParam();
  DiskServer s;
  ASSERT_EQ(s.Do("PUT", "/bkt").status, 200);
  const std::string keep = Bytes(100 << 10, 'k');
  ASSERT_EQ(s.Do("PUT", "/bkt/keep", keep).status, 200);

  // PUT over an existing object (file-backed: above the inline threshold).
  const std::string old_bytes = Bytes(90 << 10, 'o');
  ASSERT_EQ(s.Do("PUT", "/bkt/t", old_bytes).status, 200);
  int round = 0;
  std::string latest = old_bytes;
  EveryCallFails(
      s, short_appends, "PUT",
      [&] {
        const std::string bytes = Bytes((80 << 10) + round, static_cast<char>('a' + round % 20));
        round++;
        Response r = s.Do("PUT", "/bkt/t", bytes);
        if (r.status == 200) latest = bytes;
        return r;
      },
      [&](int) { EXPECT_EQ(s.Get("t"), latest); });

  // CopyObject.
  std::string copy_now = "<404>";
  EveryCallFails(
      s, short_appends, "CopyObject",
      [&] {
        Response r = s.Do("PUT", "/bkt/c", "", {{"x-amz-copy-source", "/bkt/keep"}});
        if (r.status == 200) copy_now = keep;
        return r;
      },
      [&](int) { EXPECT_EQ(s.Get("c"), copy_now); });

  // Multipart: parts (each a write that can fail), then Complete.
  Response created = s.Do("POST", "/bkt/m?uploads");
  ASSERT_EQ(created.status, 200);
  const size_t at = created.body.find("<UploadId>") + 10;
  const std::string upload = created.body.substr(at, created.body.find("</UploadId>") - at);
  std::string etags[2];
  for (int part = 1; part <= 2; part++) {
    const std::string bytes = Bytes(70 << 10, static_cast<char>('p' + part));
    EveryCallFails(
        s, short_appends, "UploadPart",
        [&] {
          Response r = s.Do(
              "PUT", "/bkt/m?partNumber=" + std::to_string(part) + "&uploadId=" + upload, bytes);
          if (r.status == 200) etags[part - 1] = r.headers["etag"];
          return r;
        },
        [&](int) { EXPECT_EQ(s.Get("m"), "<404>"); });
  }
  std::string complete = "<CompleteMultipartUpload>";
  for (int part = 1; part <= 2; part++)
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" +
                etags[part - 1] + "</ETag></Part>";
  complete += "</CompleteMultipartUpload>";
  const std::string whole = Bytes(70 << 10, 'q') + Bytes(70 << 10, 'r');
  std::string m_now = "<404>";
  EveryCallFails(
      s, short_appends, "CompleteMultipartUpload",
      [&] {
        Response r = s.Do("POST", "/bkt/m?uploadId=" + upload, complete);
        if (r.status == 200 && r.body.find("<Error>") == std::string::npos) m_now = whole;
        return r;
      },
      [&](int) { EXPECT_EQ(s.Get("m"), m_now); });
  EXPECT_EQ(s.Get("m"), whole);

  // DELETE: the object goes or stays whole; its data goes, now or at the restart.
  std::string t_now = s.Get("t");
  EveryCallFails(
      s, short_appends, "DeleteObject",
      [&] {
        Response r = s.Do("DELETE", "/bkt/t");
        if (r.status == 204) t_now = "<404>";
        return r;
      },
      [&](int) { EXPECT_EQ(s.Get("t"), t_now); });
}

INSTANTIATE_TEST_SUITE_P(EioOrShortAppend, FailingDisk, ::testing::Bool());

// Recovery meets the failing disk: each of its calls fails in turn; it reports the failure
// (the server would not start) or finishes, and a second run on a healthy disk always
// finishes with nothing left unpublished and every acknowledged object whole.
TEST(FailingDisk, RecoveryFailsAtEveryCallAndASecondRunFinishes) {
  for (int k = 1; k < 100; k++) {
    SCOPED_TRACE("recovery call " + std::to_string(k) + " fails");
    DiskServer s;
    ASSERT_EQ(s.Do("PUT", "/bkt").status, 200);
    const std::string keep = Bytes(100 << 10, 'k');
    ASSERT_EQ(s.Do("PUT", "/bkt/keep", keep).status, 200);
    // Leave work for recovery: an unpublished write (a crash before the index commit) and
    // an overwritten object whose old data is queued for deletion.
    auto w = s.data()->Create(0);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("orphan", 6).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    ASSERT_EQ(s.Do("PUT", "/bkt/keep", keep).status, 200);
    s.Settle();
    s.Arm(k, false);
    Status first = s.Restart();
    const int made = s.Disarm();
    if (made < k) {
      EXPECT_TRUE(first.ok()) << first.ToString();
      EXPECT_GT(k, 1);
      std::printf("recovery: %d file system calls, each failed in turn\n", k - 1);
      break;
    }
    EXPECT_FALSE(first.ok()) << "a failed call went unreported";
    ASSERT_TRUE(s.Restart().ok());
    EXPECT_EQ(s.Unpublished(), 0u);
    EXPECT_EQ(s.Get("keep"), keep);
  }
}

}  // namespace
}  // namespace sluice::server
