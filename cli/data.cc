#include "cli/data.h"

#include <fnmatch.h>
#include <sluice/client.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using client::Client;
using client::ClientError;
using client::ObjectInfo;

std::string Human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    u++;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

// Transfer accounting and the progress line. On a terminal (stderr) the line is redrawn
// five times a second; otherwise one summary line is printed at the end, as key=value
// pairs a script can read.
class Progress {
 public:
  explicit Progress(bool quiet) : tty_(!quiet && isatty(STDERR_FILENO)), quiet_(quiet) {
    start_ = std::chrono::steady_clock::now();
    if (tty_) drawer_ = std::thread([this] { Draw(); });
  }
  ~Progress() { Stop(false); }
  void AddPlanned(uint64_t bytes, uint64_t files = 1) {
    planned_bytes_ += bytes;
    planned_files_ += files;
  }
  void AddBytes(int64_t delta) { bytes_ += delta; }
  void FileDone() { files_++; }
  void FileSkipped(uint64_t bytes) {
    skipped_++;
    planned_bytes_ -= bytes;
    planned_files_ -= 1;
  }
  void FileFailed() { failed_++; }
  uint64_t failed() const { return failed_; }
  // Ends the progress line; with `summary`, prints the totals.
  void Stop(bool summary = true) {
    if (stopped_.exchange(true)) return;
    if (drawer_.joinable()) drawer_.join();
    double secs = Seconds();
    if (tty_) std::fprintf(stderr, "\r\033[K");
    if (!summary || (quiet_ && failed_ == 0)) return;
    std::fprintf(stderr,
                 "%s files=%llu skipped=%llu failed=%llu bytes=%llu seconds=%.2f MiB/s=%.1f\n",
                 failed_ ? "incomplete:" : "done:", (unsigned long long)files_.load(),
                 (unsigned long long)skipped_.load(), (unsigned long long)failed_.load(),
                 (unsigned long long)bytes_.load(), secs, secs > 0 ? bytes_ / secs / 1048576 : 0.0);
  }
  // Messages go through here so they do not tear the progress line.
  void Say(const std::string& line) {
    std::lock_guard l(out_mu_);
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", line.c_str());
  }

 private:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void Draw() {
    while (!stopped_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      double secs = Seconds(), rate = secs > 0 ? bytes_ / secs : 0;
      double left =
          std::max(0.0, static_cast<double>(planned_bytes_) - static_cast<double>(bytes_));
      int eta = rate > 0 ? static_cast<int>(left / rate) : 0;
      std::lock_guard l(out_mu_);
      std::fprintf(stderr, "\r\033[K%s / %s  %s/s  ETA %d:%02d  files %llu/%llu%s",
                   Human(bytes_).c_str(), Human(planned_bytes_).c_str(), Human(rate).c_str(),
                   eta / 60, eta % 60, (unsigned long long)files_.load(),
                   (unsigned long long)planned_files_.load(),
                   failed_ ? (" failed " + std::to_string(failed_.load())).c_str() : "");
      std::fflush(stderr);
    }
  }
  bool tty_, quiet_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<uint64_t> planned_bytes_{0}, planned_files_{0}, files_{0}, skipped_{0}, failed_{0};
  std::atomic<int64_t> bytes_{0};
  std::atomic<bool> stopped_{false};
  std::mutex out_mu_;
  std::thread drawer_;
};

int ExitCodeFor(const ClientError& e) {
  if (e.http_status() == 0) return 2;
  if (e.http_status() == 403) return 3;
  if (e.http_status() == 404) return 4;
  return 1;
}

// One transfer: where from, where to, how big.
struct Job {
  enum Kind { kUpload, kDownload, kCopy } kind;
  std::string src_bucket, src_key, local, dst_bucket, dst_key;
  uint64_t size = 0;
};

bool Matches(const std::string& rel, const std::vector<std::string>& include,
             const std::vector<std::string>& exclude) {
  // Every file is included unless an --exclude pattern matches it; an --include pattern
  // re-admits it (so `--exclude '*' --include '*.tar'` keeps only the tar files).
  bool in = true;
  for (const auto& p : exclude)
    if (fnmatch(p.c_str(), rel.c_str(), 0) == 0) in = false;
  for (const auto& p : include)
    if (fnmatch(p.c_str(), rel.c_str(), 0) == 0) in = true;
  return in;
}

int64_t LocalMtime(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mtime : 0;
}

}  // namespace

struct DataCommands::Impl {
  std::vector<CLI::App*> cmds;
  client::Settings flags;
  bool insecure = false, quiet = false, recursive = false, force = false, del = false;
  bool size_only = false, put = false, etag = false;
  uint64_t part_mib = 8;
  int parallel = 8, jobs = 16, expires = 3600;
  std::string a1, a2;
  std::vector<std::string> include, exclude;
  std::vector<std::string> keys;  // get-batch
  std::string keys_from, on_error = "fail", output;
  std::string which;

  void Common(CLI::App* c) {
    c->add_option("--endpoint", flags.endpoint,
                  "S3 endpoint URL (default: $AWS_ENDPOINT_URL, ~/.aws/config)");
    c->add_option("--profile", flags.profile, "Profile in ~/.aws/credentials and ~/.aws/config");
    c->add_option("--access-key", flags.access_key, "Access key (default: the AWS chain)");
    c->add_option("--secret-key", flags.secret_key, "Secret key");
    c->add_option("--region", flags.region,
                  "Region to sign for (default: the AWS chain, else us-east-1)");
    c->add_option("--ca-bundle", flags.ca_file, "PEM CA bundle for an HTTPS endpoint");
    c->add_flag("--insecure", insecure, "Do not verify the server's TLS certificate");
    c->add_flag("-q,--quiet", quiet, "No progress line, and no summary unless something failed");
    cmds.push_back(c);
  }
  void Transfer(CLI::App* c) {
    c->add_option("--part-size", part_mib, "MiB per ranged GET and per multipart part")
        ->capture_default_str();
    c->add_option("--parallel", parallel, "Parts in flight per file")->capture_default_str();
    c->add_option("--jobs", jobs, "Files in flight")->capture_default_str();
    c->add_option("--include", include, "Only files matching this pattern (repeatable)");
    c->add_option("--exclude", exclude, "Skip files matching this pattern (repeatable)");
  }

  std::unique_ptr<Client> Connect() {
    client::Settings s = flags;
    s.verify_tls = !insecure;
    s.part_size = part_mib << 20;
    s.parallelism = parallel;
    return std::make_unique<Client>(client::Resolve(s));
  }

  int Ls(Client& c) {
    std::string bucket, prefix;
    if (a1.empty()) {
      for (const auto& b : c.ListBuckets()) std::printf("%s\n", ("s3://" + b).c_str());
      return 0;
    }
    if (!client::ParseS3Url(a1, &bucket, &prefix))
      throw ClientError("ls wants s3://BUCKET[/PREFIX], not " + a1);
    uint64_t n = 0, bytes = 0;
    c.List(
        bucket, prefix, recursive ? "" : "/",
        [&](const ObjectInfo& o) {
          std::printf("%-24s %12llu  %s\n", o.last_modified.c_str(), (unsigned long long)o.size,
                      o.key.c_str());
          n++;
          bytes += o.size;
          return true;
        },
        [&](const std::string& p) {
          std::printf("%-24s %12s  %s\n", "", "PRE", p.c_str());
          return true;
        });
    if (recursive && !quiet)
      std::fprintf(stderr, "%llu objects, %s\n", (unsigned long long)n, Human(bytes).c_str());
    return 0;
  }

  // Expands SRC and DST into jobs. For sync (or a rerun of cp --recursive) a job whose
  // destination already holds the same size and is not older is skipped.
  std::vector<Job> Plan(Client& c, bool is_sync, Progress& prog,
                        std::vector<std::string>* extra_dst) {
    std::string sb, sk, db, dk;
    bool s3src = client::ParseS3Url(a1, &sb, &sk), s3dst = client::ParseS3Url(a2, &db, &dk);
    if (!s3src && !s3dst)
      throw ClientError("one side must be an s3:// URL (local copies are cp(1)'s job)");
    bool many = recursive || is_sync;
    std::vector<Job> jobs_out;
    // Destination state, for skipping what is already there.
    std::map<std::string, ObjectInfo> remote;
    const uint64_t part = c.settings().part_size;
    auto add = [&](Job j, const std::string& rel, int64_t src_mtime,
                   const std::string& src_etag = {}) {
      if (many && !Matches(rel, include, exclude)) return;
      bool skip = false;
      if (many && !force) {
        if (j.kind == Job::kDownload) {
          struct stat st {};
          skip = ::stat(j.local.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == j.size &&
                 (etag ? client::LocalEtag(j.local, j.size, src_etag, part) == src_etag
                       : size_only || st.st_mtime >= src_mtime);
        } else if (auto it = remote.find(j.dst_key); it != remote.end()) {
          const ObjectInfo& d = it->second;
          skip = d.size == j.size &&
                 (etag ? (j.kind == Job::kUpload ? client::LocalEtag(j.local, j.size, d.etag, part)
                                                 : src_etag) == d.etag
                       : size_only || d.mtime >= src_mtime);
        }
      }
      prog.AddPlanned(j.size);
      if (skip) {
        prog.FileSkipped(j.size);
        return;
      }
      jobs_out.push_back(std::move(j));
    };
    if (s3dst && many)
      c.List(db, dk.empty() || dk.back() == '/' ? dk : dk + "/", "", [&](const ObjectInfo& o) {
        remote[o.key] = o;
        return true;
      });
    if (!s3src) {  // upload
      if (!fs::exists(a1)) throw ClientError(a1 + ": no such file or directory");
      if (fs::is_directory(a1)) {
        if (!many) throw ClientError(a1 + " is a directory: add --recursive");
        std::string base = dk.empty() || dk.back() == '/' ? dk : dk + "/";
        std::set<std::string> seen;
        for (auto it = fs::recursive_directory_iterator(a1);
             it != fs::recursive_directory_iterator(); ++it) {
          if (!it->is_regular_file()) continue;
          std::string rel = fs::relative(it->path(), a1).generic_string();
          std::string key = base + rel;
          seen.insert(key);
          add({Job::kUpload, "", "", it->path().string(), db, key, it->file_size()}, rel,
              LocalMtime(it->path().string()));
        }
        if (extra_dst)
          for (const auto& [k, o] : remote)
            if (!seen.count(k) && Matches(k.substr(base.size()), include, exclude))
              extra_dst->push_back(k);
      } else {
        std::string key =
            dk.empty() || dk.back() == '/' ? dk + fs::path(a1).filename().string() : dk;
        add({Job::kUpload, "", "", a1, db, key, fs::file_size(a1)},
            fs::path(a1).filename().string(), LocalMtime(a1));
      }
      return jobs_out;
    }
    if (!many) {  // one object
      ObjectInfo o = c.Head(sb, sk);
      if (s3dst) {
        std::string key =
            dk.empty() || dk.back() == '/' ? dk + fs::path(sk).filename().string() : dk;
        add({Job::kCopy, sb, sk, "", db, key, o.size}, key, o.mtime, o.etag);
      } else {
        std::string local = a2;
        if (fs::is_directory(local) || local.back() == '/')
          local = (fs::path(local) / fs::path(sk).filename()).string();
        add({Job::kDownload, sb, sk, local, "", "", o.size}, sk, o.mtime, o.etag);
      }
      return jobs_out;
    }
    std::string base = sk.empty() || sk.back() == '/' ? sk : sk + "/";
    std::set<std::string> seen;
    c.List(sb, base, "", [&](const ObjectInfo& o) {
      std::string rel = o.key.substr(base.size());
      if (rel.empty() || rel.back() == '/') return true;  // "directory" markers
      if (s3dst) {
        std::string key = (dk.empty() || dk.back() == '/' ? dk : dk + "/") + rel;
        seen.insert(key);
        add({Job::kCopy, sb, o.key, "", db, key, o.size}, rel, o.mtime, o.etag);
      } else {
        add({Job::kDownload, sb, o.key, (fs::path(a2) / rel).string(), "", "", o.size}, rel,
            o.mtime, o.etag);
      }
      return true;
    });
    if (extra_dst && s3dst)
      for (const auto& [k, o] : remote)
        if (!seen.count(k)) extra_dst->push_back(k);
    return jobs_out;
  }

  int Run(Client& c, const std::vector<Job>& jobs_in, Progress& prog) {
    std::atomic<size_t> next{0};
    std::atomic<int> worst{0};
    auto worker = [&] {
      for (;;) {
        size_t i = next.fetch_add(1);
        if (i >= jobs_in.size()) return;
        const Job& j = jobs_in[i];
        std::atomic<uint64_t> last{0};
        auto progress = [&](uint64_t d) {
          prog.AddBytes(static_cast<int64_t>(d - last.exchange(d)));
        };
        try {
          if (j.kind == Job::kUpload) {
            c.Upload(j.local, j.dst_bucket, j.dst_key, progress);
          } else if (j.kind == Job::kDownload) {
            fs::path parent = fs::path(j.local).parent_path();
            if (!parent.empty()) fs::create_directories(parent);
            c.Download(j.src_bucket, j.src_key, j.local, progress);
          } else {
            c.Copy(j.src_bucket, j.src_key, j.dst_bucket, j.dst_key);
            progress(j.size);
          }
          prog.FileDone();
        } catch (const ClientError& e) {
          prog.AddBytes(-static_cast<int64_t>(last.load()));
          prog.FileFailed();
          prog.Say(std::string("failed: ") + e.what());
          int code = ExitCodeFor(e);
          int cur = worst.load();
          while (code > cur && !worst.compare_exchange_weak(cur, code)) {
          }
        } catch (const std::exception& e) {
          prog.FileFailed();
          prog.Say(std::string("failed: ") + e.what());
          worst = std::max(worst.load(), 1);
        }
      }
    };
    int width = std::max(1, std::min<int>(jobs, static_cast<int>(jobs_in.size())));
    std::vector<std::thread> ts;
    ts.reserve(static_cast<size_t>(width));
    for (int t = 0; t < width; t++) ts.emplace_back(worker);
    for (auto& t : ts) t.join();
    prog.Stop();
    return prog.failed() ? std::max(1, worst.load()) : 0;
  }

  int Cp(Client& c, bool is_sync) {
    Progress prog(quiet);
    std::vector<std::string> extra;
    auto jobs_list = Plan(c, is_sync, prog, is_sync && del ? &extra : nullptr);
    int rc = Run(c, jobs_list, prog);
    if (rc == 0 && !extra.empty()) {
      std::string db, dk;
      if (client::ParseS3Url(a2, &db, &dk)) {
        auto refused = c.DeleteMany(db, extra);
        if (!refused.empty()) {
          std::fprintf(stderr, "could not delete %zu objects (first: %s)\n", refused.size(),
                       refused[0].c_str());
          return 1;
        }
        if (!quiet) std::fprintf(stderr, "deleted %zu objects not in the source\n", extra.size());
      }
    }
    return rc;
  }

  int Rm(Client& c) {
    std::string b, k;
    if (!client::ParseS3Url(a1, &b, &k)) throw ClientError("rm wants s3://BUCKET/KEY, not " + a1);
    if (!recursive) {
      c.Head(b, k);  // a clear NoSuchKey rather than S3's silent success
      c.Delete(b, k);
      if (!quiet) std::fprintf(stderr, "deleted s3://%s/%s\n", b.c_str(), k.c_str());
      return 0;
    }
    std::vector<std::string> keys;
    c.List(b, k, "", [&](const ObjectInfo& o) {
      if (Matches(o.key.substr(k.size()), include, exclude)) keys.push_back(o.key);
      return true;
    });
    auto refused = c.DeleteMany(b, keys);
    if (!quiet)
      std::fprintf(stderr, "deleted %zu of %zu objects\n", keys.size() - refused.size(),
                   keys.size());
    for (const auto& r : refused)
      std::fprintf(stderr, "failed: could not delete s3://%s/%s\n", b.c_str(), r.c_str());
    return refused.empty() ? 0 : 1;
  }

  int Cat(Client& c) {
    std::string b, k;
    if (!client::ParseS3Url(a1, &b, &k)) throw ClientError("cat wants s3://BUCKET/KEY, not " + a1);
    // One streaming GET on a LAN; parallel ranged reads ahead when the round trip is long
    // (Client::PreferStreaming). The HEAD opens the connection whose round trip decides.
    c.Head(b, k);
    std::unique_ptr<client::ObjectStream> stream;
    std::unique_ptr<client::ObjectReader> reader;
    if (c.PreferStreaming())
      stream = std::make_unique<client::ObjectStream>(c, b, k);
    else
      reader = std::make_unique<client::ObjectReader>(c, b, k);
    std::vector<char> buf(1 << 20);
    for (;;) {
      size_t n =
          stream ? stream->Read(buf.data(), buf.size()) : reader->Read(buf.data(), buf.size());
      if (n == 0) break;
      if (std::fwrite(buf.data(), 1, n, stdout) != n)
        throw ClientError("cannot write to standard output");
    }
    std::fflush(stdout);
    return 0;
  }

  // get-batch: one BatchGet request; its tar answer to standard output or -o FILE.
  int GetBatch(Client& c) {
    std::string b, prefix;
    if (!client::ParseS3Url(a1, &b, &prefix))
      throw ClientError("get-batch wants s3://BUCKET[/PREFIX], not " + a1);
    std::vector<std::string> names = keys;
    if (!keys_from.empty()) {
      std::FILE* f = keys_from == "-" ? stdin : std::fopen(keys_from.c_str(), "r");
      if (!f) throw ClientError("cannot read " + keys_from);
      char* line = nullptr;
      size_t cap = 0;
      ssize_t n;
      while ((n = getline(&line, &cap, f)) > 0) {
        std::string k(line, static_cast<size_t>(n));
        while (!k.empty() && (k.back() == '\n' || k.back() == '\r')) k.pop_back();
        if (!k.empty()) names.push_back(std::move(k));
      }
      std::free(line);
      if (f != stdin) std::fclose(f);
    }
    if (names.empty()) throw ClientError("get-batch: no keys (give them, or --keys-from FILE)");
    std::vector<Client::BatchItem> items;
    items.reserve(names.size());
    for (const auto& k : names) items.push_back({prefix + k, "", "", ""});
    // A regular file is written beside its name and renamed into place when whole, so a
    // failed batch never leaves a truncated tar under it. Anything else that exists there
    // (a device such as /dev/null, a pipe) is written in place: renaming over it would
    // replace the device with a file.
    const bool to_stdout = output.empty() || output == "-";
    struct stat st {};
    const bool in_place = !to_stdout && ::stat(output.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
    const std::string target = to_stdout || in_place ? output : output + ".sluice-partial";
    std::FILE* out = to_stdout ? stdout : std::fopen(target.c_str(), "wb");
    if (!out) throw ClientError("cannot write " + output);
    try {
      c.GetBatchTar(b, items, on_error == "entry", [out](const char* d, size_t n) {
        if (std::fwrite(d, 1, n, out) != n) throw ClientError("cannot write the answer");
      });
    } catch (...) {
      if (!to_stdout) {
        std::fclose(out);
        if (!in_place) std::remove(target.c_str());
      }
      throw;
    }
    if (to_stdout) {
      std::fflush(stdout);
    } else {
      if (std::fclose(out) != 0 || (!in_place && std::rename(target.c_str(), output.c_str()) != 0))
        throw ClientError("cannot write " + output);
      if (!quiet) std::fprintf(stderr, "wrote %zu objects to %s\n", items.size(), output.c_str());
    }
    return 0;
  }

  int Bucket(Client& c, bool make) {
    std::string b, k;
    if (!client::ParseS3Url(a1, &b, &k) || !k.empty())
      throw ClientError("wants s3://BUCKET, not " + a1);
    if (make) {
      c.CreateBucket(b);
    } else {
      if (force) {
        std::vector<std::string> keys;
        c.List(b, "", "", [&](const ObjectInfo& o) {
          keys.push_back(o.key);
          return true;
        });
        if (!c.DeleteMany(b, keys).empty()) throw ClientError("could not empty s3://" + b);
      }
      c.DeleteBucket(b);
    }
    if (!quiet) std::fprintf(stderr, "%s s3://%s\n", make ? "made" : "removed", b.c_str());
    return 0;
  }

  int Du(Client& c) {
    std::string b, k;
    if (!client::ParseS3Url(a1, &b, &k) || !k.empty())
      throw ClientError("wants s3://BUCKET, not " + a1);
    Client::Usage u = c.BucketUsage(b);
    std::printf(
        "%llu objects, %llu bytes (current)\n%llu versions, %llu bytes (stored, every version)\n",
        static_cast<unsigned long long>(u.objects), static_cast<unsigned long long>(u.bytes),
        static_cast<unsigned long long>(u.versions),
        static_cast<unsigned long long>(u.version_bytes));
    return 0;
  }

  int Presign(Client& c) {
    std::string b, k;
    if (!client::ParseS3Url(a1, &b, &k) || k.empty())
      throw ClientError("presign wants s3://BUCKET/KEY, not " + a1);
    std::printf("%s\n", c.Presign(put ? "PUT" : "GET", b, k, expires).c_str());
    return 0;
  }
};

void DataCommands::Register(CLI::App& app) {
  impl_ = std::make_shared<Impl>();
  auto* I = impl_.get();
  auto sub = [&](const char* name, const char* help) {
    auto* c = app.add_subcommand(name, help);
    c->callback([I, name] { I->which = name; });
    I->Common(c);
    return c;
  };
  auto* ls = sub("ls", "List buckets, or the objects under s3://BUCKET/PREFIX");
  ls->add_option("url", I->a1, "s3://BUCKET[/PREFIX]");
  ls->add_flag("-r,--recursive", I->recursive, "Every object under the prefix, not one level");
  for (const char* name : {"cp", "sync"}) {
    bool is_sync = std::string(name) == "sync";
    auto* c = sub(
        name, is_sync ? "Make DST hold what SRC holds: copy what is new or changed (size, mtime)"
                      : "Copy files to, from or between S3 locations");
    c->add_option("src", I->a1, "Local path or s3://BUCKET/KEY")->required();
    c->add_option("dst", I->a2, "Local path or s3://BUCKET/KEY")->required();
    I->Transfer(c);
    c->add_flag("--size-only", I->size_only, "Skip files whose size matches, whatever their times");
    c->add_flag("--etag", I->etag,
                "Skip files whose content matches: the local MD5 (per part for multipart objects) "
                "against the object's ETag, whatever the times")
        ->excludes("--size-only");
    if (is_sync) {
      c->add_flag("--delete", I->del,
                  "Delete destination objects the source lacks (S3 destinations)");
    } else {
      c->add_flag("-r,--recursive", I->recursive,
                  "Copy a directory or a prefix; a rerun copies only what is missing");
      c->add_flag("--force", I->force,
                  "With --recursive, copy even what the destination already holds");
    }
  }
  auto* rm = sub("rm", "Delete an object, or every object under a prefix");
  rm->add_option("url", I->a1, "s3://BUCKET/KEY")->required();
  rm->add_flag("-r,--recursive", I->recursive, "Everything under the prefix");
  rm->add_option("--include", I->include, "Only keys matching this pattern");
  rm->add_option("--exclude", I->exclude, "Skip keys matching this pattern");
  auto* cat = sub("cat", "Write an object to standard output (parallel read-ahead)");
  cat->add_option("url", I->a1, "s3://BUCKET/KEY")->required();
  cat->add_option("--part-size", I->part_mib, "MiB per ranged GET")->capture_default_str();
  cat->add_option("--parallel", I->parallel, "Ranged GETs in flight")->capture_default_str();
  auto* gb = sub("get-batch",
                 "Many objects in one request (sluice's BatchGet), as a tar stream "
                 "in the order given, each member named by its key");
  gb->add_option("url", I->a1, "s3://BUCKET[/PREFIX] (the prefix goes in front of each key)")
      ->required();
  gb->add_option("keys", I->keys, "Keys to fetch");
  gb->add_option("--keys-from", I->keys_from, "A file with one key per line ('-': standard input)");
  gb->add_option("--on-error", I->on_error,
                 "fail: a missing or refused key fails the whole request; entry: it becomes an "
                 "empty member whose pax records SLUICE.error and SLUICE.message say why")
      ->capture_default_str()
      ->check(CLI::IsMember({"fail", "entry"}));
  gb->add_option("-o,--output", I->output, "Write the tar here instead of standard output");
  sub("mb", "Make a bucket")->add_option("url", I->a1, "s3://BUCKET")->required();
  auto* rb = sub("rb", "Remove a bucket");
  rb->add_option("url", I->a1, "s3://BUCKET")->required();
  rb->add_flag("--force", I->force, "Delete its objects first");
  sub("du",
      "What a bucket holds: objects and bytes, current and every version (from counts the "
      "server keeps exact, not by listing)")
      ->add_option("url", I->a1, "s3://BUCKET")
      ->required();
  auto* pre = sub("presign", "Print a presigned URL for an object");
  pre->add_option("url", I->a1, "s3://BUCKET/KEY")->required();
  pre->add_option("--expires", I->expires, "Seconds the URL stays valid")
      ->capture_default_str()
      ->check(CLI::Range(1, 604800));
  pre->add_flag("--put", I->put, "A URL to upload with (default: to download)");
}

bool DataCommands::parsed() const { return impl_ && !impl_->which.empty(); }

int DataCommands::Run() {
  Impl& I = *impl_;
  try {
    auto c = I.Connect();
    if (I.which == "ls") return I.Ls(*c);
    if (I.which == "cp") return I.Cp(*c, false);
    if (I.which == "sync") return I.Cp(*c, true);
    if (I.which == "rm") return I.Rm(*c);
    if (I.which == "cat") return I.Cat(*c);
    if (I.which == "get-batch") return I.GetBatch(*c);
    if (I.which == "mb") return I.Bucket(*c, true);
    if (I.which == "rb") return I.Bucket(*c, false);
    if (I.which == "presign") return I.Presign(*c);
    if (I.which == "du") return I.Du(*c);
  } catch (const ClientError& e) {
    std::fprintf(stderr, "sluice %s: %s\n", I.which.c_str(), e.what());
    return ExitCodeFor(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice %s: %s\n", I.which.c_str(), e.what());
    return 1;
  }
  return 2;
}

}  // namespace sluice::cli
