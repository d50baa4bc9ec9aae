// Python bindings of the client library (pybind11): the Client, and the raw pieces the
// Python side builds its file objects on (ranged reads, streamed multipart uploads).
// Every call that touches the network releases the GIL, so DataLoader threads and the
// training loop keep running while bytes move.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <sluice/client.h>
#include <sluice/tar.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace py = pybind11;
using sluice::client::Client;
using sluice::client::ClientError;
using sluice::client::ObjectInfo;
using sluice::client::ObjectReader;
using sluice::client::ObjectStream;
using sluice::client::Settings;

namespace {

// A multipart upload fed by Python writes: write() queues bytes (blocking when
// `parallelism` parts are already waiting, so memory stays bounded), a C++ thread streams
// them through Client::UploadStream, close() waits for the ETag. Nothing is visible
// under the key until close() completes the upload; abort() leaves nothing.
class Writer {
 public:
  Writer(Client& c, std::string bucket, std::string key) : c_(c) {
    limit_ = c.settings().part_size * (c.settings().parallelism + 1);
    thread_ = std::thread([this, bucket = std::move(bucket), key = std::move(key)] {
      try {
        etag_ = c_.UploadStream([this](char* buf, size_t n) { return Pull(buf, n); }, bucket, key);
      } catch (const std::exception& e) {
        std::lock_guard l(mu_);
        error_ = e.what();
        failed_ = true;
        cv_.notify_all();
      }
    });
  }
  ~Writer() {
    if (thread_.joinable()) Abort();
  }
  void Write(const std::string& data) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return queued_ < limit_ || failed_; });
    if (failed_) throw ClientError(error_);
    queued_ += data.size();
    q_.push_back(data);
    cv_.notify_all();
  }
  std::string Close() {
    {
      std::lock_guard l(mu_);
      closed_ = true;
      cv_.notify_all();
    }
    thread_.join();
    if (failed_) throw ClientError(error_);
    return etag_;
  }
  void Abort() {
    {
      std::lock_guard l(mu_);
      aborted_ = closed_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }

 private:
  // Called by UploadStream on the upload thread.
  size_t Pull(char* buf, size_t n) {
    std::unique_lock l(mu_);
    size_t out = 0;
    while (out < n) {
      cv_.wait(l, [&] { return !q_.empty() || closed_; });
      if (aborted_) throw ClientError("the upload was abandoned before it was closed");
      if (q_.empty()) break;  // closed and drained: the end
      std::string& front = q_.front();
      size_t k = std::min(n - out, front.size() - head_);
      std::memcpy(buf + out, front.data() + head_, k);
      out += k;
      head_ += k;
      if (head_ == front.size()) {
        queued_ -= front.size();
        q_.pop_front();
        head_ = 0;
        cv_.notify_all();
      }
    }
    return out;
  }
  Client& c_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
  size_t head_ = 0, queued_ = 0, limit_;
  bool closed_ = false, aborted_ = false, failed_ = false;
  std::string error_, etag_;
  std::thread thread_;
};

// Bytes inside a fetched part, exported through the buffer protocol without a copy;
// the part's buffer lives as long as the view.
struct View {
  std::shared_ptr<const char> keep;
  const char* data = nullptr;
  size_t size = 0;
};

// An ObjectStream read through a buffer small enough to stay in the CPU cache until it is
// consumed. read_view() lends views of whole chunks. read(n) of a large n copies what is
// buffered and takes the rest straight from the socket into the result, so a tar
// member's bytes are copied once, by the kernel; small reads (tar headers) are served
// from fills that start at 4 KiB after a direct read and double while small reads
// continue, so neither a header-data-header pattern nor a run of small reads pays much
// in copies or system calls. A buffer still referenced by a view when the next fill comes
// is left to the view, and a new one is taken.
class StreamFile {
 public:
  StreamFile(Client& c, const std::string& b, const std::string& k, size_t chunk)
      : s_(c, b, k), chunk_(std::max<size_t>(chunk, 4096)) {}
  uint64_t size() const { return s_.size(); }
  const std::string& etag() const { return s_.etag(); }
  uint64_t tell() const { return s_.position() - (len_ - pos_); }
  void Seek(uint64_t p) {
    uint64_t base = s_.position() - len_;
    if (p >= base && p <= s_.position()) {
      pos_ = static_cast<size_t>(p - base);
      return;
    }
    s_.Seek(p);
    pos_ = len_ = 0;
  }
  View ReadView(size_t n) {
    View v;
    if (pos_ == len_ && !Fill()) return v;
    v.size = std::min(n, len_ - pos_);
    v.keep = buf_;
    v.data = buf_.get() + pos_;
    pos_ += v.size;
    return v;
  }
  py::bytes Read(int64_t n) {
    uint64_t left = size() - tell();
    uint64_t want = n < 0 ? left : std::min<uint64_t>(static_cast<uint64_t>(n), left);
    PyObject* out = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(want));
    if (!out) throw py::error_already_set();
    size_t got;
    try {
      got = Fill(PyBytes_AS_STRING(out), want);
    } catch (...) {
      Py_DECREF(out);
      throw;
    }
    if (got < want && _PyBytes_Resize(&out, static_cast<Py_ssize_t>(got)) != 0)
      throw py::error_already_set();
    return py::reinterpret_steal<py::bytes>(out);
  }
  size_t ReadInto(py::buffer b) {
    py::buffer_info info = b.request(true);
    return Fill(static_cast<char*>(info.ptr), static_cast<size_t>(info.size * info.itemsize));
  }

 private:
  // Copies up to n bytes out: from the chunk, then large remainders straight from the
  // socket, small ones through a new chunk.
  size_t Fill(char* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      if (pos_ < len_) {
        size_t k = std::min(n - got, len_ - pos_);
        std::memcpy(dst + got, buf_.get() + pos_, k);
        pos_ += k;
        got += k;
      } else if (n - got >= std::min(kDirect, chunk_)) {
        size_t k;
        {
          py::gil_scoped_release g;
          k = s_.Read(dst + got, n - got);
        }
        if (k == 0) break;
        got += k;
        fill_ = kMinFill;
      } else if (Fill(fill_)) {
        fill_ = std::min(fill_ * 2, chunk_);
      } else {
        break;
      }
    }
    return got;
  }
  // The next `want` bytes (a whole chunk by default) into the buffer; false at the end.
  bool Fill(size_t want = 0) {
    if (!buf_ || buf_.use_count() > 1)
      buf_ = std::shared_ptr<char>(new char[chunk_], std::default_delete<char[]>());
    pos_ = len_ = 0;
    py::gil_scoped_release g;
    len_ = s_.Read(buf_.get(), want ? std::min(want, chunk_) : chunk_);
    return len_ > 0;
  }
  static constexpr size_t kDirect = 16 << 10, kMinFill = 4 << 10;
  ObjectStream s_;
  size_t chunk_, fill_ = kMinFill;
  std::shared_ptr<char> buf_;
  size_t pos_ = 0, len_ = 0;
};

// One 512-byte tar header block (sluice/tar.h): (name, size, typeflag), or None for the
// zero block that ends an archive. Raises ValueError when the checksum does not match, so
// a corrupt or misaligned shard fails loudly instead of yielding garbage. The name is
// decoded like tarfile's (UTF-8, surrogateescape).
py::object TarHeaderOf(py::buffer b) {
  py::buffer_info info = b.request();
  if (info.size * info.itemsize != 512) throw py::value_error("a tar header is 512 bytes");
  sluice::client::TarHeader h;
  switch (sluice::client::ParseTarHeader(static_cast<const unsigned char*>(info.ptr), &h)) {
    case sluice::client::TarBlock::kEnd:
      return py::none();
    case sluice::client::TarBlock::kBadChecksum:
      throw py::value_error("bad tar header checksum: the shard is corrupt or not a tar file");
    case sluice::client::TarBlock::kBadSize:
      throw py::value_error("bad size field in a tar header");
    case sluice::client::TarBlock::kHeader:
      break;
  }
  py::object name = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
      h.name.data(), static_cast<Py_ssize_t>(h.name.size()), "surrogateescape"));
  if (!name) throw py::error_already_set();
  return py::make_tuple(name, h.size, static_cast<int>(static_cast<unsigned char>(h.type)));
}

py::dict Info(const ObjectInfo& o) {
  py::dict d;
  d["key"] = o.key;
  d["size"] = o.size;
  d["etag"] = o.etag;
  d["last_modified"] = o.last_modified;
  return d;
}

}  // namespace

PYBIND11_MODULE(_sluice, m) {
  m.doc() = "Bindings of the sluice client library; use the `sluice` package.";
  static py::exception<ClientError> exc(m, "ClientError", PyExc_IOError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ClientError& e) {
      // An IOError with the message, and the HTTP status and S3 code as attributes.
      py::object inst =
          py::reinterpret_steal<py::object>(PyObject_CallFunction(exc.ptr(), "s", e.what()));
      inst.attr("http_status") = e.http_status();
      inst.attr("code") = e.code();
      PyErr_SetObject(exc.ptr(), inst.ptr());
    }
  });

  m.def("tar_header", &TarHeaderOf, py::arg("block"),
        "Parses one 512-byte tar header block: (name, size, typeflag), or None for a zero "
        "block; ValueError when its checksum does not match.");
  py::class_<Client>(m, "Client")
      .def(py::init([](const std::string& endpoint, const std::string& access_key,
                       const std::string& secret_key, const std::string& session_token,
                       const std::string& region, const std::string& profile, uint64_t part_size,
                       int parallelism, bool verify_tls, const std::string& ca_file) {
             Settings s;
             s.endpoint = endpoint;
             s.access_key = access_key;
             s.secret_key = secret_key;
             s.session_token = session_token;
             s.region = region;
             s.profile = profile;
             s.part_size = part_size;
             s.parallelism = parallelism;
             s.verify_tls = verify_tls;
             s.ca_file = ca_file;
             return std::make_unique<Client>(sluice::client::Resolve(s));
           }),
           py::arg("endpoint") = "", py::arg("access_key") = "", py::arg("secret_key") = "",
           py::arg("session_token") = "", py::arg("region") = "", py::arg("profile") = "",
           py::arg("part_size") = 8ULL << 20, py::arg("parallelism") = 8,
           py::arg("verify_tls") = true, py::arg("ca_file") = "")
      .def_property_readonly("part_size", [](Client& c) { return c.settings().part_size; })
      .def_property_readonly("endpoint", [](Client& c) { return c.settings().endpoint; })
      .def("rtt_us", &Client::RoundTripUs)
      .def("prefer_streaming", &Client::PreferStreaming)
      .def("head",
           [](Client& c, const std::string& b, const std::string& k) {
             ObjectInfo o;
             {
               py::gil_scoped_release r;
               o = c.Head(b, k);
             }
             return Info(o);
           })
      .def("get",
           [](Client& c, const std::string& b, const std::string& k) {
             std::string data;
             {
               py::gil_scoped_release r;
               ObjectInfo o = c.Head(b, k);
               data.resize(o.size);
               data.resize(c.ReadRange(b, k, 0, o.size, data.data(), o.etag));
             }
             return py::bytes(data);
           })
      .def(
          "read_range",
          [](Client& c, const std::string& b, const std::string& k, uint64_t off, uint64_t n,
             const std::string& etag) {
            std::string data(n, '\0');
            {
              py::gil_scoped_release r;
              data.resize(c.ReadRange(b, k, off, n, data.data(), etag));
            }
            return py::bytes(data);
          },
          py::arg("bucket"), py::arg("key"), py::arg("offset"), py::arg("length"),
          py::arg("etag") = "")
      .def("put",
           [](Client& c, const std::string& b, const std::string& k, const py::bytes& data) {
             std::string d = data;
             py::gil_scoped_release r;
             if (d.size() <= c.settings().part_size) return c.Put(b, k, d);
             size_t pos = 0;
             return c.UploadStream(
                 [&](char* buf, size_t n) {
                   size_t m = std::min(n, d.size() - pos);
                   std::memcpy(buf, d.data() + pos, m);
                   pos += m;
                   return m;
                 },
                 b, k);
           })
      .def(
          "get_batch",
          [](Client& c, const std::string& b,
             const std::vector<std::tuple<std::string, std::string, std::string, std::string>>&
                 items,
             bool error_entries) {
            std::vector<Client::BatchItem> asked;
            asked.reserve(items.size());
            for (const auto& [key, version, range, member] : items)
              asked.push_back({key, version, range, member});
            // One buffer per thread for every member's bytes, its capacity kept: fresh
            // memory for each batch cost more in page faults than the data (perf).
            thread_local std::string data;
            thread_local std::vector<uint64_t> offset, size;
            std::vector<Client::BatchResult> got;
            {
              py::gil_scoped_release r;
              got = c.GetBatchInto(b, asked, error_entries, &data, &offset, &size);
            }
            // One object per member: the bytes, or (code, message, status, key) for an
            // error entry (a dict per member cost more than the data at 4 KiB).
            py::list out(got.size());
            for (size_t i = 0; i < got.size(); ++i) {
              auto& r = got[i];
              if (r.error_code.empty())
                out[i] = py::bytes(data.data() + offset[i], size[i]);
              else
                out[i] = py::make_tuple(r.error_code, r.error_message, r.status, r.key);
            }
            return out;
          },
          py::arg("bucket"), py::arg("items"), py::arg("error_entries") = false)
      .def("list_members",
           [](Client& c, const std::string& b, const std::string& k) {
             std::vector<Client::MemberInfo> got;
             {
               py::gil_scoped_release r;
               got = c.ListMembers(b, k);
             }
             py::list out(got.size());
             for (size_t i = 0; i < got.size(); ++i)
               out[i] = py::make_tuple(got[i].name, got[i].offset, got[i].size);
             return out;
           })
      .def("bucket_usage",
           [](Client& c, const std::string& b) {
             Client::Usage u;
             {
               py::gil_scoped_release r;
               u = c.BucketUsage(b);
             }
             py::dict d;
             d["objects"] = u.objects;
             d["bytes"] = u.bytes;
             d["versions"] = u.versions;
             d["version_bytes"] = u.version_bytes;
             return d;
           })
      .def("get_member",
           [](Client& c, const std::string& b, const std::string& k, const std::string& m) {
             std::string data;
             {
               py::gil_scoped_release r;
               data = c.GetMember(b, k, m);
             }
             return py::bytes(data);
           })
      .def("append",
           [](Client& c, const std::string& b, const std::string& k, uint64_t offset,
              const py::bytes& data) {
             std::string_view d = data;  // the bytes object outlives the call
             py::gil_scoped_release r;
             return c.Append(b, k, offset, d);
           })
      .def("delete",
           [](Client& c, const std::string& b, const std::string& k) {
             py::gil_scoped_release r;
             c.Delete(b, k);
           })
      .def(
          "list",
          [](Client& c, const std::string& b, const std::string& prefix,
             const std::string& delimiter) {
            std::vector<ObjectInfo> objs;
            std::vector<std::string> prefixes;
            {
              py::gil_scoped_release r;
              c.List(
                  b, prefix, delimiter,
                  [&](const ObjectInfo& o) {
                    objs.push_back(o);
                    return true;
                  },
                  [&](const std::string& p) {
                    prefixes.push_back(p);
                    return true;
                  });
            }
            py::list out;
            for (const auto& o : objs) out.append(Info(o));
            if (!delimiter.empty())
              for (const auto& p : prefixes) {
                py::dict d;
                d["prefix"] = p;
                out.append(d);
              }
            return out;
          },
          py::arg("bucket"), py::arg("prefix") = "", py::arg("delimiter") = "")
      .def("create_bucket",
           [](Client& c, const std::string& b) {
             py::gil_scoped_release r;
             c.CreateBucket(b);
           })
      .def("download",
           [](Client& c, const std::string& b, const std::string& k, const std::string& path) {
             py::gil_scoped_release r;
             return c.Download(b, k, path).size;
           })
      .def("upload",
           [](Client& c, const std::string& path, const std::string& b, const std::string& k) {
             py::gil_scoped_release r;
             return c.Upload(path, b, k);
           });

  py::class_<Writer>(m, "Writer")
      .def(py::init<Client&, std::string, std::string>(), py::keep_alive<1, 2>())
      .def("write",
           [](Writer& w, const py::bytes& data) {
             std::string d = data;
             py::gil_scoped_release r;
             w.Write(d);
           })
      .def("close",
           [](Writer& w) {
             py::gil_scoped_release r;
             return w.Close();
           })
      .def("abort", [](Writer& w) {
        py::gil_scoped_release r;
        w.Abort();
      });

  py::class_<View>(m, "View", py::buffer_protocol())
      .def_buffer([](View& v) {
        return py::buffer_info(const_cast<char*>(v.data), 1, "B", static_cast<py::ssize_t>(v.size),
                               true);
      })
      .def("__len__", [](const View& v) { return v.size; })
      .def("__bytes__", [](const View& v) { return py::bytes(v.data, v.size); });

  py::class_<StreamFile>(m, "Stream")
      .def(py::init([](Client& c, const std::string& b, const std::string& k, size_t chunk) {
             py::gil_scoped_release r;
             return std::make_unique<StreamFile>(c, b, k, chunk);
           }),
           py::keep_alive<1, 2>(), py::arg("client"), py::arg("bucket"), py::arg("key"),
           py::arg("chunk") = 256 << 10)
      .def_property_readonly("size", &StreamFile::size)
      .def_property_readonly("etag", &StreamFile::etag)
      .def("tell", &StreamFile::tell)
      .def("seek", &StreamFile::Seek)
      .def("read", &StreamFile::Read, py::arg("n") = -1)
      .def("read_view", &StreamFile::ReadView, py::arg("n"))
      .def("set_window", [](StreamFile&, uint64_t) {})  // TCP's window is the read-ahead
      .def("readinto", &StreamFile::ReadInto);

  py::class_<ObjectReader>(m, "Reader")
      .def(py::init([](Client& c, const std::string& b, const std::string& k, uint64_t window,
                       uint64_t part) {
             py::gil_scoped_release r;
             return std::make_unique<ObjectReader>(c, b, k, window, part);
           }),
           py::keep_alive<1, 2>(), py::arg("client"), py::arg("bucket"), py::arg("key"),
           py::arg("window") = 0, py::arg("part") = 0)
      .def_property_readonly("size", &ObjectReader::size)
      .def("tell", &ObjectReader::position)
      .def("seek",
           [](ObjectReader& r, uint64_t pos) {
             py::gil_scoped_release g;
             r.Seek(pos);
           })
      .def("set_window",
           [](ObjectReader& r, uint64_t w) {
             py::gil_scoped_release g;
             r.SetWindow(w);
           })
      .def(
          "read",
          [](ObjectReader& r, int64_t n) {
            uint64_t left = r.size() - r.position();
            uint64_t want = n < 0 ? left : std::min<uint64_t>(static_cast<uint64_t>(n), left);
            // Filled in place: the bytes object is not shared until it is returned.
            PyObject* out = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(want));
            if (!out) throw py::error_already_set();
            size_t got;
            if (want <= r.Ready()) {  // a copy from memory: not worth two GIL handoffs
              got = r.Read(PyBytes_AS_STRING(out), want);
            } else {
              py::gil_scoped_release g;
              got = r.Read(PyBytes_AS_STRING(out), want);
            }
            if (got < want && _PyBytes_Resize(&out, static_cast<Py_ssize_t>(got)) != 0)
              throw py::error_already_set();
            return py::reinterpret_steal<py::bytes>(out);
          },
          py::arg("n") = -1)
      .def(
          "read_view",
          [](ObjectReader& r, size_t n) {
            View v;
            if (n <= r.Ready()) {
              v.size = r.ReadView(n, &v.keep, &v.data);
            } else {
              py::gil_scoped_release g;
              v.size = r.ReadView(n, &v.keep, &v.data);
            }
            return v;
          },
          py::arg("n"))
      .def("readinto", [](ObjectReader& r, py::buffer b) {
        py::buffer_info info = b.request(true);
        size_t n = static_cast<size_t>(info.size * info.itemsize);
        size_t got;
        if (n <= r.Ready()) {
          got = r.Read(static_cast<char*>(info.ptr), n);
        } else {
          py::gil_scoped_release g;
          got = r.Read(static_cast<char*>(info.ptr), n);
        }
        return got;
      });
}
