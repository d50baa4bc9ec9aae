// The sluice client library's public surface (std only): where the endpoint and the
// credentials come from, signed requests with retries over a pool of keep-alive
// connections, and the data path training code needs: parallel ranged downloads pinned
// to one version of the object, parallel multipart uploads, paginated listings, and a
// streaming reader with read-ahead. Works against any S3 endpoint.
//
// Resolution follows the AWS tools, first match wins:
//   endpoint: the setting, then AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, then endpoint_url
//             in the profile's section of ~/.aws/config;
//   credentials: the settings, then AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
//             AWS_SESSION_TOKEN, then the profile (AWS_PROFILE, default "default") in
//             ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE) and ~/.aws/config
//             (AWS_CONFIG_FILE);
//   region: the setting, AWS_REGION / AWS_DEFAULT_REGION, the profile, then us-east-1.
//
// Thread safety: a Client may be shared by any number of threads; each call borrows a
// connection from the pool. Errors: ClientError for anything that did not end in the
// caller's expected answer, with a message naming what failed and the S3 error code.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::client {

class ClientError : public std::runtime_error {
 public:
  ClientError(const std::string& message, int http_status = 0, std::string code = {})
      : std::runtime_error(message), http_status_(http_status), code_(std::move(code)) {}
  int http_status() const { return http_status_; }   // 0: no HTTP answer (network, config)
  const std::string& code() const { return code_; }  // S3's error code ("NoSuchKey")

 private:
  int http_status_;
  std::string code_;
};

struct Settings {
  std::string endpoint;  // "http://127.0.0.1:9000"
  std::string access_key, secret_key, session_token;
  std::string region;
  std::string profile;
  std::string ca_file;  // PEM bundle for HTTPS (AWS_CA_BUNDLE); empty: the system's
  std::string ca_pem;   // the bundle's text itself; when set, used instead of ca_file
  bool verify_tls = true;
  uint64_t part_size = 8ULL << 20;  // ranged GET parts and multipart upload parts
  int parallelism = 8;              // parts in flight per transfer
  int max_attempts = 5;             // per request; retries only idempotent requests
  int timeout_s = 120;              // without progress on one request
  // Asked before each connection, for every address the endpoint's name resolves to:
  // empty to allow it, else why not. The addresses refused are skipped; with none left the
  // request fails. A server sets it for endpoints its users chose (replication targets),
  // against requests forged to its own network (docs/security.md). Unset: any address.
  std::function<std::string(const std::string& address)> refuse_address;
};

// Fills what `flags` leaves empty from the environment and the AWS files. Throws
// ClientError naming what is missing (no endpoint, no credentials).
Settings Resolve(const Settings& flags);

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;           // without quotes
  std::string last_modified;  // ISO 8601, as listed
  int64_t mtime = 0;          // seconds since the epoch
};

// Called from transfer threads with the bytes moved so far by one call; keep it cheap.
using ProgressFn = std::function<void(uint64_t bytes)>;

class Client {
 public:
  explicit Client(Settings settings);  // settings as Resolve() returns them
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One SigV4-signed request; `path` and `query` are raw (percent-encoded as they go on
  // the wire). Idempotent methods (GET, HEAD, PUT, DELETE) are retried on connection
  // failures, 500, 502, 503 (SlowDown) and 504 with exponential backoff and full jitter;
  // POST only when it never reached the server. Throws ClientError when no answer came.
  // With sign_payload false the body goes as UNSIGNED-PAYLOAD (large parts carry a CRC32C
  // checksum header instead, much cheaper than SHA-256).
  Response Send(const std::string& method, const std::string& path, const std::string& query,
                std::string_view body, const std::map<std::string, std::string>& headers = {},
                const std::string& service = "s3", bool sign_payload = true);
  // As Send, with a 2xx body handed to `sink` as it arrives (never held whole); an error
  // answer comes back whole in Response.body. After a retry the sink sees the body again
  // from offset 0.
  using Sink = std::function<void(const char* data, size_t n, uint64_t offset)>;
  Response SendTo(const std::string& method, const std::string& path, const std::string& query,
                  std::string_view body, const std::map<std::string, std::string>& headers,
                  const Sink& sink);
  // As Send, with the body streamed from `read(buf, n)` (returns bytes, 0 at the end) of
  // a known length and SHA-256 left unsigned (UNSIGNED-PAYLOAD); never retried.
  Response SendBody(const std::string& method, const std::string& path, const std::string& query,
                    uint64_t length, const std::function<size_t(char*, size_t)>& read,
                    const std::map<std::string, std::string>& headers = {});

  // A GET whose 2xx body is handed to `sink(data, n, offset)` as it arrives, never held
  // whole in memory (ranged reads write straight into their destination); an error
  // answer comes back whole in Response.body. Retried like Send: after a retry the sink
  // sees the body again from offset 0.
  Response Get(const std::string& path, const std::string& query,
               const std::map<std::string, std::string>& headers, const Sink& sink);
  // As Get, with a 2xx body of at most `cap` bytes received straight into `dst` (on a
  // plain connection, one recv() into the caller's memory: no staging copy); `*got` is
  // the body's length. A longer body, or an error answer, is handled as by Get.
  Response GetInto(const std::string& path, const std::string& query,
                   const std::map<std::string, std::string>& headers, char* dst, uint64_t cap,
                   uint64_t* got);

  // The kernel's smoothed round-trip time to the endpoint, in microseconds, from TCP_INFO
  // of an idle pooled connection; 0 when none is open yet.
  uint32_t RoundTripUs() const;
  // Whether to read a whole object through one streaming GET rather than parallel ranged
  // reads: true when the round trip is known and under kStreamingRttUs. Linux grows a TCP
  // receive window to 6 MiB, which over a 2 ms round trip carries 3 GB/s, more than one
  // core copies; parallel reads then win nothing and cost a second copy of every byte
  // (out of their part buffers), which under contention halves throughput (#21).
  static constexpr uint32_t kStreamingRttUs = 2000;
  bool PreferStreaming() const;

  // Buckets.
  void CreateBucket(const std::string& bucket);
  void DeleteBucket(const std::string& bucket);
  std::vector<std::string> ListBuckets();
  // What a bucket holds, as the server's index keeps it exact (sluice's GET /BUCKET?usage;
  // docs/metrics.md): current objects and their bytes, every stored version and their bytes.
  struct Usage {
    uint64_t objects = 0, bytes = 0, versions = 0, version_bytes = 0;
  };
  Usage BucketUsage(const std::string& bucket);

  // Objects. Errors are ClientError with S3's code (NoSuchKey, NoSuchBucket, AccessDenied).
  ObjectInfo Head(const std::string& bucket, const std::string& key);
  std::string GetString(const std::string& bucket, const std::string& key);
  std::string Put(const std::string& bucket, const std::string& key,
                  const std::string& data);  // ETag
  // Appends `data` to the object at `offset`, which must be its size (0 creates it): one
  // PUT with x-amz-write-offset-bytes (docs/client.md, "Appends"). Returns the new size.
  // A retry whose first attempt the server had already committed is recognised (the object
  // then ends, at offset + size, with exactly these bytes) and counts as success. Throws
  // ClientError, code InvalidWriteOffset, when the object's size is not `offset`.
  uint64_t Append(const std::string& bucket, const std::string& key, uint64_t offset,
                  std::string_view data);
  void Delete(const std::string& bucket, const std::string& key);
  // Many objects, or byte ranges of them, in one request (sluice's BatchGet, docs/batch-get.md):
  // results in the order asked. With `error_entries` false a failing item fails the call
  // (ClientError naming it); with true its result carries the error instead of data.
  struct BatchItem {
    std::string key;
    std::string version_id;  // empty: the latest
    std::string range;       // "bytes=0-99", or empty for the whole object (or member)
    std::string member;      // a member of the tar object `key` (docs/tar-members.md)
  };
  struct BatchResult {
    std::string key;
    std::string data;
    std::string etag;
    std::string error_code;  // empty when the item was read
    std::string error_message;
    int status = 200;
  };
  std::vector<BatchResult> GetBatch(const std::string& bucket, const std::vector<BatchItem>& items,
                                    bool error_entries = false);
  // The same with every member's bytes in one buffer: result i's bytes are
  // (*data)[offset[i], offset[i] + size[i]) and its `data` stays empty. `*data` is cleared
  // first and its capacity kept, so a caller that reuses it allocates nothing per batch.
  std::vector<BatchResult> GetBatchInto(const std::string& bucket,
                                        const std::vector<BatchItem>& items, bool error_entries,
                                        std::string* data, std::vector<uint64_t>* offset,
                                        std::vector<uint64_t>* size);
  // The same request, its tar answer handed to `out` as it arrives (the CLI's get-batch).
  void GetBatchTar(const std::string& bucket, const std::vector<BatchItem>& items,
                   bool error_entries, const std::function<void(const char*, size_t)>& out);
  // Tar archives (docs/tar-members.md): the member table of a tar object, every page of
  // it (name order), and one member's bytes by name. ClientError InvalidRequest when the
  // object is not a tar archive with a table; NoSuchKey when the member is missing.
  struct MemberInfo {
    std::string name;
    uint64_t offset = 0;  // of its first byte in the archive: a ranged GET reads it too
    uint64_t size = 0;
    std::string etag;
  };
  std::vector<MemberInfo> ListMembers(const std::string& bucket, const std::string& key);
  std::string GetMember(const std::string& bucket, const std::string& key,
                        const std::string& member);
  // Up to 1,000 keys per request, as many requests as needed; returns the keys refused.
  std::vector<std::string> DeleteMany(const std::string& bucket,
                                      const std::vector<std::string>& keys);
  // Server-side copy (multipart copy above 5 GiB is not offered yet).
  void Copy(const std::string& src_bucket, const std::string& src_key, const std::string& bucket,
            const std::string& key);

  // Every object under `prefix` (pages of 1,000 fetched as needed), or with a delimiter
  // the objects and common prefixes of one level. Return false from a callback to stop.
  void List(const std::string& bucket, const std::string& prefix, const std::string& delimiter,
            const std::function<bool(const ObjectInfo&)>& on_object,
            const std::function<bool(const std::string&)>& on_prefix = {});

  // Downloads into `path` with part_size ranged GETs, `parallelism` at a time, each
  // pinned to the first answer's ETag (If-Match), so a concurrent overwrite fails the
  // download instead of mixing versions. Writes `path.sluice-partial` and renames it only
  // when complete: a failed download never leaves a truncated file under `path`.
  ObjectInfo Download(const std::string& bucket, const std::string& key, const std::string& path,
                      const ProgressFn& progress = {});
  // Reads [offset, offset + n) into `buf` (ranged GETs in parallel when n is large);
  // returns the bytes read (fewer only at the end of the object).
  uint64_t ReadRange(const std::string& bucket, const std::string& key, uint64_t offset, uint64_t n,
                     char* buf, const std::string& if_match = {});

  // Uploads a file: one PUT up to part_size, else a multipart upload with `parallelism`
  // parts in flight, aborted on failure (nothing half-written becomes visible). ETag.
  std::string Upload(const std::string& path, const std::string& bucket, const std::string& key,
                     const ProgressFn& progress = {});
  // The same from a stream of unknown length: `read(buf, n)` fills up to n bytes and
  // returns 0 at the end. Holds at most parallelism + 1 parts in memory.
  std::string UploadStream(const std::function<size_t(char*, size_t)>& read,
                           const std::string& bucket, const std::string& key,
                           const ProgressFn& progress = {});

  // A presigned URL (SigV4 query form) for GET or PUT.
  std::string Presign(const std::string& method, const std::string& bucket, const std::string& key,
                      int expires_s);

  const Settings& settings() const { return settings_; }

 private:
  friend class ObjectStream;
  struct Conn;
  struct Pool;
  struct Body;  // a 2xx answer whose body is still on the wire
  struct BodyDeleter {
    void operator()(Body* b) const;
  };
  using BodyPtr = std::unique_ptr<Body, BodyDeleter>;
  // A GET (retried like Get) whose 2xx body is left unread in *body, *len bytes long; an
  // error answer comes back whole in Response.body.
  Response OpenGet(const std::string& path, const std::map<std::string, std::string>& headers,
                   BodyPtr* body, uint64_t* len);
  // Up to n bytes of such a body (n when that many remain), straight from the socket.
  // Throws ClientError when the connection fails or goes silent for timeout_s.
  size_t ReadBody(Body& b, char* buf, size_t n);
  // A body read to its end: its connection goes back to the pool.
  void ReleaseBody(BodyPtr b);
  struct Dest {  // GetInto's destination
    char* data;
    uint64_t cap;
    uint64_t got;
  };
  // Send and SendTo: signing, the pool and retries; a 2xx body to `sink` when one is given.
  Response SendRetrying(const std::string& method, const std::string& path,
                        const std::string& query, std::string_view body,
                        const std::map<std::string, std::string>& headers,
                        const std::string& service, bool sign_payload, const Sink* sink);
  Response SendOnce(Conn& c, const std::string& method, const std::string& target,
                    const std::map<std::string, std::string>& signed_headers, std::string_view body,
                    const std::function<size_t(char*, size_t)>* reader, uint64_t length,
                    const Sink* sink = nullptr, Dest* dest = nullptr);
  // The retrying GET behind Get, GetInto and OpenGet; with `keep`, a 2xx answer's
  // connection is handed to the caller (its body unread) instead of going back to the pool.
  Response GetWith(const std::string& path, const std::string& query,
                   const std::map<std::string, std::string>& headers, const Sink* sink, Dest* dest,
                   std::unique_ptr<Conn>* keep = nullptr);
  std::map<std::string, std::string> Sign(const std::string& method, const std::string& path,
                                          const std::string& query,
                                          const std::map<std::string, std::string>& headers,
                                          const std::string& payload_hash,
                                          const std::string& service);
  Settings settings_;
  std::unique_ptr<Pool> pool_;
};

// Reads an object sequentially into caller buffers, fetching the next `window` bytes in
// parallel ranged GETs of `part` bytes (0: the client's part_size) ahead of the reader,
// all pinned to the object's ETag. For streaming tar shards and checkpoints without a
// local copy. Parts small enough to stay in the CPU cache until they are read (a few
// MiB) make the reader's copy out of them cheaper.
class ObjectReader {
 public:
  ObjectReader(Client& client, std::string bucket, std::string key, uint64_t window = 0,
               uint64_t part = 0);
  ~ObjectReader();
  // Fills up to n bytes; 0 at the end of the object.
  size_t Read(char* buf, size_t n);
  uint64_t size() const;
  uint64_t position() const;
  void Seek(uint64_t pos);
  // Changes how far ahead of the reader parts are fetched (0: part_size × parallelism);
  // a reader opened early with a small window grows it when it becomes the one in use.
  void SetWindow(uint64_t window);
  // Bytes the next Read can return without waiting for the network.
  uint64_t Ready() const;
  // Zero-copy read: points *data at up to n bytes inside a fetched part (fewer at a part
  // boundary), with *keep holding that part's buffer alive; 0 at the end.
  size_t ReadView(size_t n, std::shared_ptr<const char>* keep, const char** data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads an object front to back through one streaming GET, straight from the socket
// into caller buffers: one copy, no staging buffer, and TCP's window is the read-ahead
// (the GET is sent when the stream is made, so a stream made early has its first bytes
// waiting). The cheapest way to read a whole object on a fast network; ObjectReader's
// parallel ranged reads win when latency is high. A dropped or silent connection is
// resumed where it stopped with a ranged GET pinned to the first answer's ETag
// (If-Match); an object replaced meanwhile fails the read (PreconditionFailed).
class ObjectStream {
 public:
  ObjectStream(Client& client, std::string bucket, std::string key);
  ~ObjectStream();
  // Up to n bytes (n while that many remain); 0 at the end.
  size_t Read(char* buf, size_t n);
  uint64_t size() const;
  uint64_t position() const;
  const std::string& etag() const;
  // Moves the read position; reading after a move starts a new ranged GET.
  void Seek(uint64_t pos);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The ETag S3 would give the local file `path` (`size` bytes), in the form of `like`
// (an object's ETag): the hex MD5 of the content, or for a multipart ETag ("<hex>-N")
// the MD5 of the parts' MD5s and "-N", trying the part sizes uploaders use (`our_part`,
// the AWS CLI's 8 MiB, and the sizes N equal parts, or N parts of whole MiB, imply) until
// one gives `like`. "" when none does or the file cannot be read.
std::string LocalEtag(const std::string& path, uint64_t size, const std::string& like,
                      uint64_t our_part);

// Percent-encodes for a URL path ('/' kept) or a query value.
std::string UrlEncode(const std::string& s, bool keep_slash);

// "s3://bucket/key" -> {bucket, key}; false when `url` is not an s3:// URL.
bool ParseS3Url(const std::string& url, std::string* bucket, std::string* key);

// A human-readable message for an S3 error answer: "NoSuchBucket: The specified bucket
// does not exist (HTTP 404)".
std::string DescribeError(const Response& r);

}  // namespace sluice::client
