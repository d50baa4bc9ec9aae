// Encryption at rest (docs/encryption.md): the SSE request headers of a write, a read and a
// copy source; PutBucketEncryption bodies; and, as stored on disk where a bit can flip, an
// object's encryption record, its sealed key and its encrypted frames, and the key file.
// The input is "name: value" header lines, a blank line, then the rest, which every other
// parser gets. Anything that parses must round-trip; nothing may crash.
#include <boost/beast/http/fields.hpp>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/frame_cipher.h"
#include "common/strings.h"
#include "http/http.h"
#include "s3/sse.h"

using namespace sluice;

namespace {

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

const s3::SseKeyring& Ring() {
  static const s3::SseKeyring ring = *s3::SseKeyring::Parse(
      "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
      "k2 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n");
  return ring;
}

void CheckHeaders(std::string_view head) {
  boost::beast::http::fields fields;
  for (std::string_view line : Split(head, '\n')) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = Trim(line.substr(0, colon));
    if (!IsToken(name)) continue;
    std::string_view value = Trim(line.substr(colon + 1));
    fields.insert(boost::beast::string_view(name.data(), name.size()),
                  boost::beast::string_view(value.data(), value.size()));
  }
  http::Request req(fields, "PUT", "/b/k");
  for (auto parse : {&s3::ParseWriteSse, &s3::ParseReadSse, &s3::ParseCopySourceSse}) {
    auto r = parse(req);
    if (!r.ok()) continue;
    if (r->mode == s3::SseMode::kCustomer && r->customer_key.size() != FrameCipher::kKeySize)
      std::abort();
    // A customer key against a record it did not write: refused, never a key.
    s3::SseRecord other;
    other.mode = s3::SseMode::kCustomer;
    other.salt = std::string(16, 's');
    other.check = std::string(32, 'c');
    if (r->mode == s3::SseMode::kCustomer && s3::ObjectKeyFor(other, *r, &Ring()).ok())
      std::abort();
  }
}

void CheckStored(std::string_view in) {
  auto rec = s3::SseRecord::Decode(in);
  if (rec.ok()) {
    auto again = s3::SseRecord::Decode(rec->Encode());
    if (!again.ok() || again->mode != rec->mode || again->salt != rec->salt ||
        again->master_id != rec->master_id || again->sealed_key != rec->sealed_key ||
        again->check != rec->check)
      std::abort();
    // A record from a damaged index: an error, or a key of the right size ("" for a
    // plain object).
    auto key = s3::ObjectKeyFor(*rec, s3::SseRequest{}, &Ring());
    const size_t want = rec->mode == s3::SseMode::kNone ? 0 : FrameCipher::kKeySize;
    if (key.ok() && key->size() != want) std::abort();
  }
  auto ring = s3::SseKeyring::Parse(in);
  if (ring.ok()) {
    auto again = s3::SseKeyring::Parse(s3::SseKeyring::Format(ring->keys()));
    if (!again.ok() || again->keys().size() != ring->keys().size()) std::abort();
    for (size_t i = 0; i < ring->keys().size(); ++i)
      if (again->keys()[i].id != ring->keys()[i].id ||
          again->keys()[i].bytes != ring->keys()[i].bytes)
        std::abort();
  }
  (void)s3::ParseBucketEncryption(in);
  // Stored frames that were altered: Open refuses them, or they were genuine.
  const FrameCipher cipher(std::string(FrameCipher::kKeySize, 'k'));
  if (FrameCipher::PlainSize(in.size()) != UINT64_MAX && in.size() >= FrameCipher::kTag &&
      in.size() <= FrameCipher::kFrameStored) {
    std::string out(in.size() - FrameCipher::kTag, '\0');
    if (cipher.Open(0, true, in.data(), in.size(), out.data()).ok()) {
      std::string sealed(in.size(), '\0');
      cipher.Seal(0, true, out.data(), out.size(), sealed.data());
      if (sealed != in) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t blank = in.find("\n\n");
  CheckHeaders(in.substr(0, blank));
  CheckStored(blank == std::string_view::npos ? in : in.substr(blank + 2));
  return 0;
}
