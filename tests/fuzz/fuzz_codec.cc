// Index records read back from disk: decoding never crashes, and whatever decodes
// re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "meta/kv/codec.h"

using namespace sluice::meta;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ObjectMeta m;
  if (codec::DecodeObject(in, &m).ok() && codec::EncodeObject(m) != in) {
    // Varints have several encodings of one value; only a decode of the re-encoding must
    // give back the same record.
    ObjectMeta again;
    if (!codec::DecodeObject(codec::EncodeObject(m), &again).ok() || again.etag != m.etag ||
        again.segments.size() != m.segments.size())
      std::abort();
  }
  ObjectMeta listing;
  (void)codec::DecodeObject(in, &listing, true);
  BucketInfo b;
  (void)codec::DecodeBucket(in, &b);
  UploadInfo u;
  (void)codec::DecodeUpload(in, &u);
  PartInfo p;
  (void)codec::DecodePart(in, &p);
  (void)codec::PrefixSuccessor(in);
  // A Q record: the first 20 bytes as its key (stamp and key), the rest as its value;
  // what decodes without a change count re-encodes to the same value.
  if (in.size() > 20) {
    ReplicationTask t;
    if (codec::DecodeReplication(in.substr(0, 20), in.substr(20), &t).ok() &&
        t.record.find('.') == std::string::npos &&
        codec::EncodeReplication(t.version, t.tags_only) != t.record)
      std::abort();
  }
  return 0;
}
