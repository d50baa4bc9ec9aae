// ObjectStream: one streaming GET read straight from the socket into caller buffers,
// resumed with a ranged GET pinned to the first answer's ETag when the connection drops.
#include <sluice/client.h>

#include <algorithm>
#include <cstdlib>

#include "client/internal.h"

namespace sluice::client {

using internal::Expect;
using internal::ObjectPath;
using internal::Unquote;

struct ObjectStream::Impl {
  Client& c;
  std::string bucket, key, path, etag;
  uint64_t size = 0, pos = 0;
  bool sized = false;
  Client::BodyPtr body;
  uint64_t left = 0;  // unread bytes of the current answer

  Impl(Client& client, std::string b, std::string k)
      : c(client), bucket(std::move(b)), key(std::move(k)), path(ObjectPath(bucket, key)) {}

  // Sends the GET for [pos, end): the whole object the first time, then ranged and pinned.
  void Open() {
    std::map<std::string, std::string> h;
    if (pos > 0) h["range"] = "bytes=" + std::to_string(pos) + "-";
    if (!etag.empty()) h["if-match"] = "\"" + etag + "\"";
    uint64_t len = 0;
    Response r = c.OpenGet(path, h, &body, &len);
    if (r.status == 412)
      throw ClientError("s3://" + bucket + "/" + key +
                            " changed while it was being read (ETag no longer " + etag + ")",
                        412, "PreconditionFailed");
    Expect(r, pos > 0 ? 206 : 200, "read s3://" + bucket + "/" + key);
    if (etag.empty()) etag = Unquote(r.header("etag"));
    if (!sized) {
      size = pos + len;
      sized = true;
    }
    if (pos + len != size) {
      body.reset();
      throw ClientError("read s3://" + bucket + "/" + key + ": the answer from " +
                        std::to_string(pos) + " holds " + std::to_string(len) + " bytes of " +
                        std::to_string(size - pos));
    }
    left = len;
  }
};

ObjectStream::ObjectStream(Client& client, std::string bucket, std::string key)
    : impl_(std::make_unique<Impl>(client, std::move(bucket), std::move(key))) {
  impl_->Open();
  if (impl_->left == 0) impl_->c.ReleaseBody(std::move(impl_->body));
}

ObjectStream::~ObjectStream() = default;

uint64_t ObjectStream::size() const { return impl_->size; }
uint64_t ObjectStream::position() const { return impl_->pos; }
const std::string& ObjectStream::etag() const { return impl_->etag; }

void ObjectStream::Seek(uint64_t pos) {
  Impl& m = *impl_;
  pos = std::min(pos, m.size);
  if (pos == m.pos) return;
  m.body.reset();  // the answer in flight is abandoned with its connection
  m.left = 0;
  m.pos = pos;
}

size_t ObjectStream::Read(char* buf, size_t n) {
  Impl& m = *impl_;
  n = static_cast<size_t>(std::min<uint64_t>(n, m.size - m.pos));
  if (n == 0) return 0;
  for (int failures = 0;;) {
    try {
      if (!m.body) m.Open();
      size_t k = m.c.ReadBody(*m.body, buf, std::min<uint64_t>(n, m.left));
      m.pos += k;
      m.left -= k;
      if (m.left == 0) m.c.ReleaseBody(std::move(m.body));
      return k;
    } catch (const ClientError& e) {
      // A dropped or silent connection: resume at pos. Answers (404, 412) are final.
      m.body.reset();
      m.left = 0;
      if (e.http_status() != 0 || ++failures >= m.c.settings().max_attempts) throw;
      internal::RetryDelay(failures - 1);
    }
  }
}

}  // namespace sluice::client
