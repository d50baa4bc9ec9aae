// Golden HTTP exchanges (tests/golden/*.test), DuckDB-style: each case is a request and
// the status, error Code, headers and body it must produce. The server runs in-process
// on an ephemeral loopback port over the in-memory backends and a manual clock, so every
// run is identical. The format is described in tests/golden/README.md.
#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "http/server.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "s3/authz.h"
#include "s3/handler.h"
#include "storage/mem/mem_data_store.h"
#include "testutil/http_exchange.h"
#include "testutil/signer.h"

namespace sluice::s3 {
namespace {

constexpr int64_t kNow = 1700000000LL * 1000000;  // 2023-11-14T22:13:20Z

struct Case {
  std::string file, name;
  int line = 0;
  std::string method, target;
  bool sign = true;
  testutil::Headers headers;
  std::string body;
  int status = 0;
  std::string code;
  std::vector<std::pair<std::string, std::string>> want_headers;
  std::vector<std::string> absent_headers;
  std::vector<std::string> contains;
  std::optional<std::string> exact_body;
  // "capture NAME: header": the response header's value, substituted for ${NAME} in the
  // requests and expectations of later cases (server-made ids such as version ids).
  std::vector<std::pair<std::string, std::string>> captures;
};

// Replaces every ${NAME} with its captured value.
std::string Substitute(std::string s, const std::map<std::string, std::string>& vars) {
  for (const auto& [name, value] : vars) {
    const std::string pat = "${" + name + "}";
    for (size_t pos; (pos = s.find(pat)) != std::string::npos;) s.replace(pos, pat.size(), value);
  }
  return s;
}

Case Bind(Case c, const std::map<std::string, std::string>& vars) {
  c.target = Substitute(c.target, vars);
  c.body = Substitute(c.body, vars);
  for (auto& [k, v] : c.headers) v = Substitute(v, vars);
  for (auto& [k, v] : c.want_headers) v = Substitute(v, vars);
  for (auto& s : c.contains) s = Substitute(s, vars);
  if (c.exact_body) c.exact_body = Substitute(*c.exact_body, vars);
  return c;
}

std::vector<Case> LoadCases(const std::string& path) {
  std::ifstream in(path);
  std::vector<Case> cases;
  std::string line;
  int n = 0;
  enum { kNone, kHeaders, kBody, kExpect } state = kNone;
  std::vector<std::string> body_lines;
  while (std::getline(in, line)) {
    n++;
    if (state != kBody && (line.starts_with("#") || (line.empty() && state != kHeaders))) continue;
    if (line.starts_with("=== ")) {
      cases.emplace_back();
      cases.back().file = std::filesystem::path(path).filename();
      cases.back().name = line.substr(4);
      cases.back().line = n;
      state = kNone;
      continue;
    }
    Case& c = cases.back();
    if (state == kNone) {
      std::istringstream ss(line);
      std::string flag;
      ss >> c.method >> c.target >> flag;
      c.sign = flag != "unsigned";
      state = kHeaders;
    } else if (line.starts_with("--- ")) {
      if (state == kBody) {
        for (size_t i = 0; i < body_lines.size(); i++) c.body += (i ? "\n" : "") + body_lines[i];
        body_lines.clear();
      }
      std::istringstream ss(line.substr(4));
      ss >> c.status >> c.code;
      state = kExpect;
    } else if (state == kHeaders) {
      if (line.empty()) {
        state = kBody;
        continue;
      }
      size_t colon = line.find(':');
      c.headers.emplace_back(line.substr(0, colon), std::string(Trim(line.substr(colon + 1))));
    } else if (state == kBody) {
      body_lines.push_back(line);
    } else if (state == kExpect) {
      if (line.starts_with("capture ")) {
        size_t colon = line.find(':');
        c.captures.emplace_back(line.substr(8, colon - 8),
                                ToLower(std::string(Trim(line.substr(colon + 1)))));
      } else if (line.starts_with("contains: ")) {
        c.contains.push_back(line.substr(10));
      } else if (line.starts_with("body: ")) {
        c.exact_body = line.substr(6);
      } else if (line.starts_with("!")) {
        c.absent_headers.push_back(ToLower(line.substr(1)));
      } else {
        size_t colon = line.find(':');
        c.want_headers.emplace_back(ToLower(line.substr(0, colon)),
                                    std::string(Trim(line.substr(colon + 1))));
      }
    }
  }
  return cases;
}

using testutil::Response;

class GoldenServer {
 public:
  GoldenServer() : index_(&kv_, false), clock_(kNow), pool_(4) {
    creds_.Add({"GOLDENKEY", "goldensecret", "owner-id", "owner"});
    svc_.index = &async_index_;
    svc_.data = &async_data_;
    svc_.clock = &clock_;
    svc_.random = io::SystemRandom();
    svc_.blocking = &pool_;
    svc_.credentials = &creds_;
    svc_.access = &access_;
    svc_.domains = {"s3.local"};
    svc_.limits.min_part_size = 5;  // so golden multipart cases stay small
    handler_ = std::make_unique<S3Handler>(svc_);
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
  }
  ~GoldenServer() {
    server_->Stop();
    pool_.join();
  }
  Response Do(const Case& c) {
    testutil::Headers h = c.headers;
    bool has_host = false;
    for (auto& [k, v] : h) has_host |= EqualsIgnoreCase(k, "host");
    if (!has_host) h.emplace_back("Host", "127.0.0.1");
    if (!c.body.empty() || c.method == "PUT" || c.method == "POST")
      h.emplace_back("Content-Length", std::to_string(c.body.size()));
    size_t q = c.target.find('?');
    std::string payload_hash = "UNSIGNED-PAYLOAD";
    for (auto it = h.begin(); c.sign && it != h.end(); ++it) {
      if (EqualsIgnoreCase(it->first, "x-amz-content-sha256")) {
        payload_hash = it->second;  // the signer adds it back, signed
        h.erase(it);
        break;
      }
    }
    if (c.sign)
      testutil::SignRequest(c.method, c.target.substr(0, q),
                            q == std::string::npos ? "" : c.target.substr(q + 1), h, "GOLDENKEY",
                            "goldensecret", kNow, payload_hash);
    std::string req = c.method + " " + c.target + " HTTP/1.1\r\n";
    for (auto& [k, v] : h) req += k + ": " + v + "\r\n";
    req += "\r\n" + c.body;
    return testutil::Exchange(server_->port(), req, c.method == "HEAD");
  }

 private:
  meta::MemKv kv_;
  meta::KvIndex index_;
  storage::MemDataStore data_;
  io::ManualClock clock_;
  auth::StaticCredentialStore creds_;
  boost::asio::thread_pool pool_;
  meta::AsyncIndex async_index_{&index_, &pool_};
  storage::AsyncDataStore async_data_{&data_, &pool_};
  BucketAccessCache access_{&async_index_};
  Services svc_;
  std::unique_ptr<S3Handler> handler_;
  std::unique_ptr<http::Server> server_;
};

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, Exchanges) {
  GoldenServer server;  // one server per file: cases in a file build on each other
  auto cases = LoadCases(GetParam());
  ASSERT_FALSE(cases.empty());
  std::map<std::string, std::string> vars;
  for (const Case& unbound : cases) {
    const Case c = Bind(unbound, vars);
    SCOPED_TRACE(c.file + ":" + std::to_string(c.line) + " " + c.name);
    Response r = server.Do(c);
    for (const auto& [name, header] : c.captures) {
      EXPECT_TRUE(r.headers.count(header)) << "capture " << name << ": no " << header;
      vars[name] = r.headers[header];
    }
    EXPECT_EQ(r.status, c.status) << r.body;
    if (!c.code.empty()) {
      EXPECT_NE(r.body.find("<Code>" + c.code + "</Code>"), std::string::npos) << r.body;
    }
    EXPECT_TRUE(r.headers.count("x-amz-request-id"));
    for (auto& [k, v] : c.want_headers) EXPECT_EQ(r.headers[k], v) << k;
    for (auto& k : c.absent_headers) EXPECT_FALSE(r.headers.count(k)) << k;
    for (auto& s : c.contains) EXPECT_NE(r.body.find(s), std::string::npos) << s << "\n" << r.body;
    if (c.exact_body) {
      EXPECT_EQ(r.body, *c.exact_body);
    }
  }
}

std::vector<std::string> GoldenFiles() {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(SLUICE_GOLDEN_DIR))
    if (e.path().extension() == ".test") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Files, Golden, ::testing::ValuesIn(GoldenFiles()), [](const auto& info) {
  std::string n = std::filesystem::path(info.param).stem();
  for (auto& ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
});

}  // namespace
}  // namespace sluice::s3
