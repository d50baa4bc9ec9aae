#include "server/console.h"

#include <nlohmann/json.hpp>

namespace sluice::server {
namespace {

constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

void Harden(http::ResponseHead* head) {
  head->Set("Server", "sluice");
  head->Set("Content-Security-Policy", std::string(kCsp));
  head->Set("X-Content-Type-Options", "nosniff");
  head->Set("X-Frame-Options", "DENY");
  head->Set("Referrer-Policy", "no-referrer");
}

}  // namespace

bool Console::IsConsoleRequest(const http::Request& req) {
  const std::string_view p = req.path();
  return p.starts_with(kConsolePrefix) || p == kConsolePrefix.substr(0, kConsolePrefix.size() - 1);
}

Task<void> Console::Handle(http::Request& req, http::Body& body, http::Responder& resp) {
  const int64_t start = clock_->MonotonicNanos();
  if (metrics_) metrics_->Started();
  http::ResponseHead head;
  Harden(&head);
  head.Set("Content-Type", "text/plain; charset=utf-8");
  std::string text;
  std::string_view out;
  const std::string_view path = req.path();
  if (req.method() != "GET" && req.method() != "HEAD") {
    head.status = 405;
    head.Set("Allow", "GET, HEAD");
    text = "the console's files are read with GET or HEAD\n";
  } else if (path.size() < kConsolePrefix.size()) {
    head.status = 301;
    head.Set("Location", std::string(kConsolePrefix));
  } else if (kConsoleAssetCount == 0) {
    head.status = 501;
    text = "this sluice was built without its web console (-DSLUICE_CONSOLE=OFF)\n";
  } else {
    std::string_view name = path.substr(kConsolePrefix.size());
    if (name.empty()) name = "index.html";
    if (name == "config.json") {
      text = nlohmann::json{{"region", region_}}.dump();
      head.headers.back() = {"Content-Type", "application/json"};
      head.Set("Cache-Control", "no-store");
    } else {
      const ConsoleAsset* found = nullptr;
      for (size_t i = 0; i < kConsoleAssetCount; i++)
        if (kConsoleAssets[i].name == name) found = &kConsoleAssets[i];
      if (found == nullptr) {
        head.status = 404;
        text = "no such file in the console\n";
      } else {
        head.headers.back() = {"Content-Type", std::string(found->content_type)};
        // The file names do not change between builds: the browser asks again each time,
        // and the file's ETag makes that a 304 until a new build changes it.
        head.Set("Cache-Control", "no-cache");
        head.Set("ETag", std::string(found->etag));
        if (req.header("If-None-Match") == found->etag) {
          head.status = 304;
        } else {
          out = found->data;
        }
      }
    }
  }
  if (out.empty()) out = text;
  (co_await resp.Send(head, out)).IgnoreError();
  if (metrics_) {
    s3::RequestMetrics::Outcome o;
    o.slot = s3::RequestMetrics::Slot(s3::Endpoint::kConsole);
    o.status = resp.status();
    o.bytes_in = body.bytes_read();
    o.bytes_out = resp.bytes_sent();
    o.nanos = clock_->MonotonicNanos() - start;
    metrics_->Finished(o);
  }
}

}  // namespace sluice::server
