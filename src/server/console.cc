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
  http::ResponseHead head;
  Harden(&head);
  std::string type = "text/plain; charset=utf-8";
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
  } else if (std::string_view name = path.substr(kConsolePrefix.size()); name == "config.json") {
    type = "application/json";
    text = nlohmann::json{{"region", region_}}.dump();
    head.Set("Cache-Control", "no-store");
  } else {
    if (name.empty()) name = "index.html";
    const ConsoleAsset* found = nullptr;
    for (size_t i = 0; i < kConsoleAssetCount && !found; i++)
      if (kConsoleAssets[i].name == name) found = &kConsoleAssets[i];
    if (found == nullptr) {
      head.status = 404;
      text = "no such file in the console\n";
    } else {
      type = found->content_type;
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
  head.Set("Content-Type", type);
  if (out.empty()) out = text;
  (co_await resp.Send(head, out)).IgnoreError();
}

}  // namespace sluice::server
