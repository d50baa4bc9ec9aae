// Transfers: parallel ranged downloads pinned to one ETag, parallel multipart uploads
// from files and streams, and the read-ahead reader.
#include <fcntl.h>
#include <sluice/client.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <pugixml.hpp>
#include <sstream>
#include <system_error>
#include <thread>

#include "client/internal.h"
#include "common/checksum.h"
#include "common/strings.h"

namespace sluice::client {
namespace {

using internal::Expect;
using internal::ObjectPath;
using internal::Unquote;

// Runs fn(0..n-1) on up to `width` threads; the first exception stops the others from
// starting new tasks and is rethrown here.
void RunParallel(size_t n, int width, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mu;
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= n || failed.load()) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard l(mu);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(width, 1)));
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> ts;
    for (size_t t = 0; t < threads; t++) ts.emplace_back(worker);
    for (auto& t : ts) t.join();
  }
  if (error) std::rethrow_exception(error);
}

std::string Crc32cB64(std::string_view data) {
  return Base64Encode(ComputeChecksum(ChecksumAlgo::kCrc32c, data));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void PreadAll(int fd, char* buf, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      throw ClientError("cannot read " + path + ": " +
                        (r == 0 ? "file shrank" : std::generic_category().message(errno)));
    buf += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
}

void PwriteAll(int fd, const char* buf, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pwrite(fd, buf, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      throw ClientError("cannot write " + path + ": " + std::generic_category().message(errno));
    buf += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
}

std::string RangeHeader(uint64_t off, uint64_t n) {
  return "bytes=" + std::to_string(off) + "-" + std::to_string(off + n - 1);
}

// Part buffers recycled across readers and downloads in this process. A fresh 8 MiB
// allocation costs a zero-fill and 2,048 page faults on first touch; a loader opening
// shard after shard would pay that for every part it reads (measured in BENCHMARKS.md, "PyTorch
// data loading"). Buffers are not initialised: each is filled by recv() before it is read.
class PartPool {
 public:
  static PartPool& Get() {
    static PartPool* pool = new PartPool;  // never destroyed: readers may outlive statics
    return *pool;
  }
  std::unique_ptr<char[]> Take(uint64_t size) {
    {
      std::lock_guard l(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        auto b = std::move(it->second.back());
        it->second.pop_back();
        held_ -= size;
        return b;
      }
    }
    return std::unique_ptr<char[]>(new char[size]);
  }
  void Give(std::unique_ptr<char[]> b, uint64_t size) {
    if (!b) return;
    std::lock_guard l(mu_);
    if (held_ + size > kMaxHeld) return;  // freed here, outside the pool
    free_[size].push_back(std::move(b));
    held_ += size;
  }

 private:
  static constexpr uint64_t kMaxHeld = 64ULL << 20;
  std::mutex mu_;
  uint64_t held_ = 0;
  std::map<uint64_t, std::vector<std::unique_ptr<char[]>>> free_;
};

}  // namespace

uint64_t Client::ReadRange(const std::string& bucket, const std::string& key, uint64_t offset,
                           uint64_t n, char* buf, const std::string& if_match) {
  if (n == 0) return 0;
  const std::string path = ObjectPath(bucket, key);
  auto one = [&](uint64_t off, uint64_t len, char* out) -> uint64_t {
    std::map<std::string, std::string> h{{"range", RangeHeader(off, len)}};
    if (!if_match.empty()) h["if-match"] = "\"" + if_match + "\"";
    uint64_t got = 0;
    Response r = GetInto(path, "", h, out, len, &got);
    if (r.status == 416) return 0;  // at or past the end
    if (r.status == 412)
      throw ClientError("s3://" + bucket + "/" + key +
                            " changed while it was being read (ETag no longer " + if_match + ")",
                        412, "PreconditionFailed");
    Expect(r, 206, "read s3://" + bucket + "/" + key);
    return got;
  };
  uint64_t part = settings_.part_size;
  if (n <= part) return one(offset, n, buf);
  size_t parts = (n + part - 1) / part;
  std::vector<uint64_t> got(parts);
  RunParallel(parts, settings_.parallelism, [&](size_t i) {
    uint64_t off = i * part;
    got[i] = one(offset + off, std::min(part, n - off), buf + off);
  });
  uint64_t total = 0;
  for (size_t i = 0; i < parts; i++) {
    total += got[i];
    if (got[i] < std::min(part, n - i * part)) break;  // the object ended inside this part
  }
  return total;
}

ObjectInfo Client::Download(const std::string& bucket, const std::string& key,
                            const std::string& dest, const ProgressFn& progress) {
  ObjectInfo info = Head(bucket, key);
  // A regular file is written beside its name and renamed into place when whole. Anything
  // else already there (a device such as /dev/null) is written in place: a rename would
  // replace the device with a file.
  struct stat st {};
  const bool in_place = ::stat(dest.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  std::string tmp = in_place ? dest : dest + ".sluice-partial";
  Fd f;
  f.fd = ::open(tmp.c_str(),
                in_place ? O_WRONLY | O_CLOEXEC : O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (f.fd < 0)
    throw ClientError("cannot create " + tmp + ": " + std::generic_category().message(errno));
  try {
    uint64_t part = settings_.part_size;
    size_t parts = (info.size + part - 1) / part;
    std::atomic<uint64_t> done{0};
    const std::string path = ObjectPath(bucket, key);
    RunParallel(parts, settings_.parallelism, [&](size_t i) {
      uint64_t off = i * part, len = std::min(part, info.size - off);
      // The part is received straight into a pooled buffer, then written with one pwrite.
      uint64_t got = 0;
      std::unique_ptr<char[]> buf = PartPool::Get().Take(part);
      Response r = GetInto(
          path, "", {{"range", RangeHeader(off, len)}, {"if-match", "\"" + info.etag + "\""}},
          buf.get(), len, &got);
      if (r.status == 206 && got == len) PwriteAll(f.fd, buf.get(), len, off, tmp);
      PartPool::Get().Give(std::move(buf), part);
      if (r.status == 412)
        throw ClientError(
            "s3://" + bucket + "/" + key + " was overwritten during the download; run it again",
            412, "PreconditionFailed");
      Expect(r, 206, "download s3://" + bucket + "/" + key);
      if (got != len)
        throw ClientError("download s3://" + bucket + "/" + key + ": part at " +
                          std::to_string(off) + " came back with " + std::to_string(got) + " of " +
                          std::to_string(len) + " bytes");
      uint64_t d = done.fetch_add(len) + len;
      if (progress) progress(d);
    });
    if (::close(f.fd) != 0) {
      f.fd = -1;
      throw ClientError("cannot write " + tmp + ": " + std::generic_category().message(errno));
    }
    f.fd = -1;
    if (!in_place && ::rename(tmp.c_str(), dest.c_str()) != 0)
      throw ClientError("cannot rename " + tmp + " to " + dest + ": " +
                        std::generic_category().message(errno));
  } catch (...) {
    if (!in_place) ::unlink(tmp.c_str());
    throw;
  }
  return info;
}

namespace {

struct PartResult {
  std::string etag, crc;
};

std::string CompleteXml(const std::vector<PartResult>& parts) {
  pugi::xml_document doc;
  auto root = doc.append_child("CompleteMultipartUpload");
  for (size_t i = 0; i < parts.size(); i++) {
    auto p = root.append_child("Part");
    p.append_child("PartNumber").text().set(static_cast<unsigned>(i + 1));
    p.append_child("ETag").text().set(("\"" + parts[i].etag + "\"").c_str());
    p.append_child("ChecksumCRC32C").text().set(parts[i].crc.c_str());
  }
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw);
  return os.str();
}

}  // namespace

// Multipart upload plumbing shared by Upload and UploadStream.
struct MultipartUpload {
  Client& c;
  std::string bucket, key, path, id;
  std::mutex mu;
  std::vector<PartResult> parts;

  MultipartUpload(Client& client, std::string b, std::string k)
      : c(client), bucket(std::move(b)), key(std::move(k)) {
    path = ObjectPath(bucket, key);
    Response r = c.Send("POST", path, "uploads=", "", {{"x-amz-checksum-algorithm", "CRC32C"}});
    Expect(r, 200, "start the upload of s3://" + bucket + "/" + key);
    pugi::xml_document doc;
    doc.load_buffer(r.body.data(), r.body.size());
    id = doc.document_element().child("UploadId").text().as_string();
    if (id.empty())
      throw ClientError("start the upload of s3://" + bucket + "/" + key +
                        ": no UploadId in the answer");
  }
  void Part(size_t index, std::string_view data) {
    std::string crc = Crc32cB64(data);
    Response r =
        c.Send("PUT", path,
               "partNumber=" + std::to_string(index + 1) + "&uploadId=" + UrlEncode(id, false),
               data, {{"x-amz-checksum-crc32c", crc}}, "s3", /*sign_payload=*/false);
    Expect(r, 200, "upload part " + std::to_string(index + 1) + " of s3://" + bucket + "/" + key);
    std::lock_guard l(mu);
    if (parts.size() <= index) parts.resize(index + 1);
    parts[index] = {Unquote(r.header("etag")), crc};
  }
  std::string Complete() {
    Response r = c.Send("POST", path, "uploadId=" + UrlEncode(id, false), CompleteXml(parts));
    Expect(r, 200, "finish the upload of s3://" + bucket + "/" + key);
    pugi::xml_document doc;
    doc.load_buffer(r.body.data(), r.body.size());
    if (std::string_view(doc.document_element().name()) == "Error")
      throw ClientError("finish the upload of s3://" + bucket + "/" + key + ": " + r.body, 200);
    return Unquote(doc.document_element().child("ETag").text().as_string());
  }
  void Abort() noexcept {
    try {
      c.Send("DELETE", path, "uploadId=" + UrlEncode(id, false), "");
    } catch (...) {
    }
  }
};

std::string Client::Upload(const std::string& file, const std::string& bucket,
                           const std::string& key, const ProgressFn& progress) {
  Fd f;
  f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0)
    throw ClientError("cannot open " + file + ": " + std::generic_category().message(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw ClientError(file + " is not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size), part = settings_.part_size;
  if (size <= part) {
    std::string data(size, '\0');
    PreadAll(f.fd, data.data(), size, 0, file);
    Response r = Send("PUT", ObjectPath(bucket, key), "", data,
                      {{"x-amz-checksum-crc32c", Crc32cB64(data)}}, "s3",
                      /*sign_payload=*/false);
    Expect(r, 200, "upload " + file + " to s3://" + bucket + "/" + key);
    if (progress) progress(size);
    return Unquote(r.header("etag"));
  }
  MultipartUpload mpu(*this, bucket, key);
  try {
    size_t parts = (size + part - 1) / part;
    std::atomic<uint64_t> done{0};
    RunParallel(parts, settings_.parallelism, [&](size_t i) {
      uint64_t off = i * part, len = std::min(part, size - off);
      // A pooled buffer: no zero-fill and no fresh page faults per part.
      std::unique_ptr<char[]> buf = PartPool::Get().Take(part);
      PreadAll(f.fd, buf.get(), len, off, file);
      mpu.Part(i, std::string_view(buf.get(), len));
      PartPool::Get().Give(std::move(buf), part);
      uint64_t d = done.fetch_add(len) + len;
      if (progress) progress(d);
    });
    return mpu.Complete();
  } catch (...) {
    mpu.Abort();
    throw;
  }
}

std::string Client::UploadStream(const std::function<size_t(char*, size_t)>& read,
                                 const std::string& bucket, const std::string& key,
                                 const ProgressFn& progress) {
  uint64_t part = settings_.part_size;
  auto fill = [&](std::string* buf) {
    buf->resize(part);
    size_t got = 0;
    while (got < part) {
      size_t n = read(buf->data() + got, part - got);
      if (n == 0) break;
      got += n;
    }
    buf->resize(got);
    return got;
  };
  std::string first;
  fill(&first);
  if (first.size() < part) {  // it all fits in one PUT
    Response r = Send("PUT", ObjectPath(bucket, key), "", first,
                      {{"x-amz-checksum-crc32c", Crc32cB64(first)}}, "s3", false);
    Expect(r, 200, "upload to s3://" + bucket + "/" + key);
    if (progress) progress(first.size());
    return Unquote(r.header("etag"));
  }
  MultipartUpload mpu(*this, bucket, key);
  std::deque<std::future<void>> inflight;
  std::atomic<uint64_t> done{0};
  try {
    std::string cur = std::move(first);
    for (size_t index = 0; !cur.empty(); index++) {
      while (inflight.size() >= static_cast<size_t>(settings_.parallelism)) {
        inflight.front().get();
        inflight.pop_front();
      }
      inflight.push_back(
          std::async(std::launch::async, [&mpu, &done, &progress, index, data = std::move(cur)] {
            mpu.Part(index, data);
            uint64_t d = done.fetch_add(data.size()) + data.size();
            if (progress) progress(d);
          }));
      cur.clear();
      fill(&cur);
    }
    while (!inflight.empty()) {
      inflight.front().get();
      inflight.pop_front();
    }
    return mpu.Complete();
  } catch (...) {
    for (auto& f : inflight)
      if (f.valid()) f.wait();
    mpu.Abort();
    throw;
  }
}

// A fetched part. Its buffer is shared so that views handed out by ReadView keep it
// alive; the last owner returns it to the pool.
struct Part {
  std::shared_ptr<const char> data;
  uint64_t size = 0;  // filled
};

std::shared_ptr<const char> PooledBuffer(uint64_t cap, char** raw) {
  *raw = PartPool::Get().Take(cap).release();
  return std::shared_ptr<const char>(*raw, [cap](const char* p) {
    PartPool::Get().Give(std::unique_ptr<char[]>(const_cast<char*>(p)), cap);
  });
}

struct ObjectReader::Impl {
  Impl(Client& client, std::string b, std::string k)
      : c(client), bucket(std::move(b)), key(std::move(k)) {}
  Client& c;
  std::string bucket, key, etag;
  uint64_t size = 0, pos = 0, window = 0, part = 0;
  // Parts fetched ahead of the reader: (offset, future part).
  std::deque<std::pair<uint64_t, std::future<Part>>> ahead;
  Part cur;
  uint64_t cur_off = 0;
  uint64_t next_fetch = 0;

  void Refill() {
    while (next_fetch < size && next_fetch < pos + window) {
      uint64_t off = next_fetch, len = std::min(part, size - off);
      ahead.emplace_back(off, std::async(std::launch::async, [this, off, len, cap = part] {
                           Part p;
                           char* raw;
                           p.data = PooledBuffer(cap, &raw);
                           p.size = c.ReadRange(bucket, key, off, len, raw, etag);
                           return p;
                         }));
      next_fetch += len;
    }
  }
  void SetCurrent(Part p, uint64_t off) {
    cur = std::move(p);
    cur_off = off;
  }
  // Makes the part holding `pos` current, waiting for it; false at the end.
  bool Advance() {
    while (pos >= cur_off + cur.size) {
      Refill();
      if (ahead.empty()) return false;
      auto [off, fut] = std::move(ahead.front());
      ahead.pop_front();
      SetCurrent(fut.get(), off);
      if (cur.size == 0) return false;
      Refill();
    }
    return true;
  }
  void Drain() {
    for (auto& [off, f] : ahead)
      if (f.valid()) f.wait();  // an unconsumed read's error does not matter
    ahead.clear();
  }
};

ObjectReader::ObjectReader(Client& client, std::string bucket, std::string key, uint64_t window,
                           uint64_t part)
    : impl_(std::make_unique<Impl>(client, std::move(bucket), std::move(key))) {
  ObjectInfo info = client.Head(impl_->bucket, impl_->key);
  impl_->etag = info.etag;
  impl_->size = info.size;
  impl_->part = part ? part : client.settings().part_size;
  impl_->window = window ? window : client.settings().part_size * client.settings().parallelism;
  impl_->Refill();  // start fetching now: a reader opened ahead of use has its bytes waiting
}

ObjectReader::~ObjectReader() { impl_->Drain(); }

uint64_t ObjectReader::size() const { return impl_->size; }
uint64_t ObjectReader::position() const { return impl_->pos; }

uint64_t ObjectReader::Ready() const {
  const Impl& m = *impl_;
  return m.pos >= m.cur_off && m.pos < m.cur_off + m.cur.size ? m.cur_off + m.cur.size - m.pos : 0;
}

void ObjectReader::SetWindow(uint64_t window) {
  impl_->window = window ? window : impl_->c.settings().part_size * impl_->c.settings().parallelism;
  impl_->Refill();
}

void ObjectReader::Seek(uint64_t pos) {
  Impl& m = *impl_;
  m.pos = std::min(pos, m.size);
  if (m.pos >= m.cur_off && m.pos < m.cur_off + m.cur.size) return;
  if (m.pos >= m.cur_off + m.cur.size && m.pos < m.next_fetch) {
    // Forward within the fetched window: skip whole parts instead of refetching.
    while (!m.ahead.empty()) {
      auto [off, fut] = std::move(m.ahead.front());
      m.ahead.pop_front();
      m.SetCurrent(fut.get(), off);
      if (m.pos < off + m.cur.size || m.cur.size == 0) break;
    }
    m.Refill();
    return;
  }
  m.Drain();
  m.SetCurrent({}, 0);
  m.next_fetch = m.pos / m.part * m.part;
  m.cur_off = m.next_fetch;
}

size_t ObjectReader::Read(char* buf, size_t n) {
  Impl& m = *impl_;
  size_t out = 0;
  while (out < n && m.pos < m.size && m.Advance()) {
    size_t k = std::min<uint64_t>(n - out, m.cur_off + m.cur.size - m.pos);
    std::memcpy(buf + out, m.cur.data.get() + (m.pos - m.cur_off), k);
    out += k;
    m.pos += k;
  }
  return out;
}

size_t ObjectReader::ReadView(size_t n, std::shared_ptr<const char>* keep, const char** data) {
  Impl& m = *impl_;
  if (n == 0 || m.pos >= m.size || !m.Advance()) return 0;
  size_t k = std::min<uint64_t>(n, m.cur_off + m.cur.size - m.pos);
  *keep = m.cur.data;
  *data = m.cur.data.get() + (m.pos - m.cur_off);
  m.pos += k;
  return k;
}

}  // namespace sluice::client
