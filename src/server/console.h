// The web console's files at /_sluice/console/ (docs/console.md).
//
// The console is a client like any other: a single-page app that signs every S3 and admin
// request itself, in the browser, with the user's key. This handler only serves its static
// files, compiled into the binary (console/, built by npm at build time), plus
// config.json with what the app must know of this server (its region). It never sees a
// credential and grants nothing.
//
// GET and HEAD only (405 otherwise); /_sluice/console redirects to /_sluice/console/;
// unknown files are 404. Every answer carries a Content-Security-Policy that allows only
// this origin, so a preview of an object can never run script in the console's origin.
#pragma once

#include <string>
#include <string_view>

#include "common/async.h"
#include "http/http.h"

namespace sluice::server {

inline constexpr std::string_view kConsolePrefix = "/_sluice/console/";

// One embedded file (console_assets.cc, generated at build time).
struct ConsoleAsset {
  std::string_view name;  // relative to kConsolePrefix: "index.html", "console.js", ...
  std::string_view content_type;
  std::string_view etag;  // quoted: a hash of data
  std::string_view data;
};
// The files, and how many; none when the build left the console out (SLUICE_CONSOLE=OFF).
extern const ConsoleAsset kConsoleAssets[];
extern const size_t kConsoleAssetCount;

class Console {
 public:
  // Requests are counted by the caller (Metered, as Endpoint::kConsole).
  explicit Console(std::string region) : region_(std::move(region)) {}

  static bool IsConsoleRequest(const http::Request& req);
  Task<void> Handle(http::Request& req, http::Body& body, http::Responder& resp);

 private:
  std::string region_;
};

}  // namespace sluice::server
