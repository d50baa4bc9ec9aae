// Index records read back from disk: decoding never crashes, and whatever decodes
// re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "meta/kv/codec.h"
#include "meta/rados/packs.h"
#include "meta/rados/shards.h"

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
  // What a RADOS shard's omap holds beside the records (meta/rados/shards.h, packs.h):
  // decoders never crash, and a pack that decodes re-encodes to the same bytes.
  if (auto head = codec::ObjectListingHead(in)) {
    ObjectMeta lm;
    if (!codec::DecodeObject(*head, &lm, true).ok()) std::abort();
  }
  shards::Range range;
  (void)shards::DecodeRange(in, &range);
  shards::Map map;
  (void)shards::DecodeMap(in, &map);
  (void)shards::RecordObjectKey(in);
  std::optional<std::string_view> dh;
  (void)packs::ParseDelta(in, &dh);
  std::vector<packs::Entry> entries;
  if (packs::DecodePack(in, &entries).ok()) {
    std::string_view base;
    std::vector<packs::EntryView> views;
    if (!packs::ViewPack(in, &base, &views).ok() || views.size() != entries.size() ||
        packs::EncodePack(base, entries) != in)
      std::abort();
  }
  return 0;
}
