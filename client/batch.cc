// Client::GetBatch and GetBatchTar: sluice's BatchGet (docs/batch-get.md), one POST for many
// objects, answered by a tar stream parsed here as it arrives (pax records carry each
// member's ETag, and an error member's code and message).
#include <sluice/client.h>
#include <sluice/tar.h>

#include <charconv>
#include <cstring>
#include <pugixml.hpp>
#include <sstream>

#include "client/internal.h"
#include "common/strings.h"

namespace sluice::client {
namespace {

// An entry's HTTP status from its pax record; 0 when the server sent something else.
int ParseStatus(const std::string& s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() ? v : 0;
}

std::string BatchBody(const std::vector<Client::BatchItem>& items, bool error_entries) {
  pugi::xml_document doc;
  auto root = doc.append_child("BatchGet");
  root.append_child("OnError").text().set(error_entries ? "entry" : "fail");
  for (const auto& it : items) {
    auto o = root.append_child("Object");
    o.append_child("Key").text().set(it.key.c_str());
    if (!it.version_id.empty()) o.append_child("VersionId").text().set(it.version_id.c_str());
    if (!it.range.empty()) o.append_child("Range").text().set(it.range.c_str());
    if (!it.member.empty()) o.append_child("Member").text().set(it.member.c_str());
  }
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw);
  return os.str();
}

// pax records "LEN key=value\n" into (key, value) pairs; malformed records end the parse.
std::map<std::string, std::string> PaxRecords(std::string_view data) {
  std::map<std::string, std::string> out;
  while (!data.empty()) {
    size_t space = data.find(' ');
    if (space == std::string_view::npos) break;
    auto len = ParseUint(data.substr(0, space));
    if (!len || *len <= space + 1 || *len > data.size()) break;
    std::string_view rec = data.substr(space + 1, *len - space - 2);  // without the '\n'
    size_t eq = rec.find('=');
    if (eq != std::string_view::npos)
      out[std::string(rec.substr(0, eq))] = std::string(rec.substr(eq + 1));
    data.remove_prefix(*len);
  }
  return out;
}

// Parses a tar stream fed in arbitrary pieces into BatchResults.
class TarCollector {
 public:
  // With `data`, members' bytes go there, one after the other, at offset_/size_ positions.
  TarCollector(std::vector<Client::BatchResult>* out, std::string* data = nullptr,
               std::vector<uint64_t>* offset = nullptr, std::vector<uint64_t>* sizes = nullptr)
      : out_(out), data_(data), offset_(offset), sizes_(sizes) {}
  void Feed(const char* p, size_t n) {
    while (n > 0) {
      if (want_ == 0) Next();
      size_t k = std::min<uint64_t>(n, want_);
      if (state_ == State::kHeader || state_ == State::kPax)
        buf_.append(p, k);
      else if (state_ == State::kData)
        (data_ ? *data_ : out_->back().data).append(p, k);
      p += k;
      n -= k;
      want_ -= k;
      if (want_ == 0) Done();
    }
  }
  bool ended() const { return ended_; }

 private:
  enum class State { kHeader, kPax, kData, kPad, kEnd };
  void Next() {
    if (state_ == State::kEnd)
      throw ClientError("batch answer: bytes after the end of the archive");
    if (state_ != State::kHeader) return;
    want_ = 512;
    buf_.clear();
  }
  void Done() {
    switch (state_) {
      case State::kHeader: {
        TarHeader h;
        TarBlock b = ParseTarHeader(reinterpret_cast<const unsigned char*>(buf_.data()), &h);
        if (b == TarBlock::kEnd) {
          state_ = State::kEnd;
          ended_ = true;
          want_ = 512;  // the second zero block
          return;
        }
        if (b != TarBlock::kHeader) throw ClientError("batch answer: not a tar stream");
        size_ = h.size;
        if (h.type == 'x') {
          state_ = State::kPax;
          want_ = h.size + (512 - h.size % 512) % 512;
          buf_.clear();
          if (want_ == 0) state_ = State::kHeader;
          return;
        }
        Client::BatchResult r;
        r.key = pax_.count("path") ? pax_["path"] : h.name;
        r.etag = pax_["SLUICE.etag"];
        r.error_code = pax_["SLUICE.error"];
        r.error_message = pax_["SLUICE.message"];
        if (!r.error_code.empty()) r.status = ParseStatus(pax_["SLUICE.status"]);
        if (pax_.count("size")) size_ = std::stoull(pax_["size"]);
        if (data_) {
          offset_->push_back(data_->size());
          sizes_->push_back(size_);
        } else {
          r.data.reserve(size_);
        }
        out_->push_back(std::move(r));
        pax_.clear();
        state_ = State::kData;
        want_ = size_;
        if (want_ == 0) Done();
        return;
      }
      case State::kPax:
        pax_ = PaxRecords(std::string_view(buf_).substr(0, size_));
        state_ = State::kHeader;
        return;
      case State::kData:
        state_ = State::kPad;
        want_ = (512 - size_ % 512) % 512;
        if (want_ == 0) state_ = State::kHeader;
        return;
      case State::kPad:
        state_ = State::kHeader;
        return;
      case State::kEnd:
        want_ = 0;
        return;
    }
  }

  std::vector<Client::BatchResult>* out_;
  std::string* data_;
  std::vector<uint64_t>* offset_;
  std::vector<uint64_t>* sizes_;
  State state_ = State::kHeader;
  uint64_t want_ = 0, size_ = 0;
  std::string buf_;
  std::map<std::string, std::string> pax_;
  bool ended_ = false;
};

// One BatchGet parsed by `tar` into `results`, which must come back whole and in number.
void Collect(Client& c, const std::string& bucket, const std::vector<Client::BatchItem>& items,
             bool error_entries, TarCollector& tar, std::vector<Client::BatchResult>& results) {
  if (items.empty()) return;
  results.reserve(items.size());
  c.GetBatchTar(bucket, items, error_entries, [&tar](const char* d, size_t n) { tar.Feed(d, n); });
  if (!tar.ended() || results.size() != items.size())
    throw ClientError("batch get from s3://" + bucket + ": the answer ended early (" +
                      std::to_string(results.size()) + " of " + std::to_string(items.size()) +
                      " objects)");
}

}  // namespace

void Client::GetBatchTar(const std::string& bucket, const std::vector<BatchItem>& items,
                         bool error_entries, const std::function<void(const char*, size_t)>& out) {
  if (items.empty()) return;
  const std::string body = BatchBody(items, error_entries);
  std::string path = "/";
  path += UrlEncode(bucket, true);
  Response r = SendTo("POST", path, "batch-get=", body, {{"content-type", "application/xml"}},
                      [&out](const char* d, size_t n, uint64_t) { out(d, n); });
  internal::Expect(r, 200, "batch get from s3://" + bucket);
}

std::vector<Client::BatchResult> Client::GetBatchInto(const std::string& bucket,
                                                      const std::vector<BatchItem>& items,
                                                      bool error_entries, std::string* data,
                                                      std::vector<uint64_t>* offset,
                                                      std::vector<uint64_t>* size) {
  data->clear();
  offset->clear();
  size->clear();
  std::vector<BatchResult> results;
  TarCollector tar(&results, data, offset, size);
  Collect(*this, bucket, items, error_entries, tar, results);
  return results;
}

std::vector<Client::BatchResult> Client::GetBatch(const std::string& bucket,
                                                  const std::vector<BatchItem>& items,
                                                  bool error_entries) {
  std::vector<BatchResult> results;
  TarCollector tar(&results);
  Collect(*this, bucket, items, error_entries, tar, results);
  return results;
}

}  // namespace sluice::client
