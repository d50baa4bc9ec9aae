// HTTP request heads and bodies, parsed exactly as http/server.cc configures Beast, then
// routed as s3/handler.cc does: query string, router, key validation.
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <limits>

#include "s3/router.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::buffer_body> p;
  p.header_limit(64 * 1024);
  p.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::beast::error_code ec;
  // Feed it in pieces with a small body buffer, as the server's read loop does.
  char body[512];
  const char* in = reinterpret_cast<const char*>(data);
  size_t left = size, step = size / 3 + 1;
  while (left > 0 && !p.is_done()) {
    p.get().body().data = body;
    p.get().body().size = sizeof body;
    size_t used = p.put(boost::asio::const_buffer(in, std::min(left, step)), ec);
    if (ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) {
      ec = {};
      if (used == 0 && step < left) {
        step = left;  // a piece too small to make progress: give it all
        continue;
      }
      if (used == 0) break;
    }
    if (ec) break;
    in += used;
    left -= used;
  }
  if (!p.is_header_done()) return 0;
  auto& m = p.get();
  std::string_view target(m.target().data(), m.target().size());
  size_t q = target.find('?');
  auto query = sluice::s3::Query::Parse(q == std::string_view::npos ? "" : target.substr(q + 1));
  if (!query.ok()) return 0;
  auto host_it = m.find(bhttp::field::host);
  std::string host = host_it == m.end() ? "" : std::string(host_it->value());
  auto route = sluice::s3::RouteRequest(
      std::string_view(m.method_string().data(), m.method_string().size()), host,
      target.substr(0, q), *query, {"s3.local"}, m.find("x-amz-copy-source") != m.end());
  if (route.ok()) {
    (void)sluice::ValidateBucketName(route->bucket);
    (void)sluice::ValidateObjectKey(route->key);
  }
  return 0;
}
