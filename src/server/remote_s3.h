// Small helpers for the server's clients of other S3 endpoints (replication targets, the
// origin of a read-through cache): what an answer says, as the client library returns it.
#pragma once

#include <sluice/client.h>

#include <pugixml.hpp>
#include <string>

namespace sluice::server {

// The Code of an S3 error document in `r`'s body; empty when there is none.
inline std::string S3ErrorCode(const client::Response& r) {
  pugi::xml_document doc;
  if (r.body.empty() || !doc.load_buffer(r.body.data(), r.body.size())) return {};
  return doc.child("Error").child("Code").text().as_string();
}

// An ETag header's value without its quotes.
inline std::string UnquoteEtag(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace sluice::server
