#include "storage/api/data_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "storage/api/async_data_store.h"

namespace sluice::storage {

Task<Status> DataReader::Send(ByteSink& sink, uint64_t offset, uint64_t n, size_t buffer) const {
  std::unique_ptr<char[]> buf(new char[std::min<uint64_t>(n, buffer)]);
  while (n > 0) {
    size_t got = 0;
    SLUICE_CO_RETURN_IF_ERROR(Read(offset, buf.get(), std::min<uint64_t>(n, buffer), &got));
    if (got == 0) co_return Status(Err::kCorruption, "data shorter than its index entry");
    SLUICE_CO_RETURN_IF_ERROR(co_await sink.Write(std::string_view(buf.get(), got)));
    offset += got;
    n -= got;
  }
  co_return Status::Ok();
}

void DataStore::ReadMany(std::vector<RangeRead>& reads) {
  std::string open_id;
  Result<std::unique_ptr<DataReader>> reader = Status(Err::kNotFound, "");
  for (auto& r : reads) {
    if (r.id != open_id) {  // a batch's members often share one id
      open_id = r.id;
      reader = Open(r.id);
    }
    if (!reader.ok()) {
      r.status = reader.status();
      continue;
    }
    r.bytes.resize(r.length);
    size_t got = 0;
    r.status = (*reader)->Read(r.offset, r.bytes.data(), r.length, &got);
    if (r.status.ok() && got != r.length)
      r.status = Status(Err::kCorruption, "data " + r.id + " is shorter than the range read");
    if (!r.status.ok()) r.bytes.clear();
  }
}

void AsyncDataStore::DeleteLater(std::vector<std::string> ids,
                                 std::function<void(std::vector<std::string>)> done) {
  if (ids.empty()) return;
  boost::asio::post(*pool_, [s = store_, ids = std::move(ids), done = std::move(done)] {
    std::vector<std::string> deleted;
    for (const auto& id : ids) {
      Status st = s->Delete(id);
      if (st.ok())
        deleted.push_back(id);
      else
        spdlog::warn("deleting data {}: {} (recovery will retry)", id, st.ToString());
    }
    if (done) done(std::move(deleted));
  });
}

}  // namespace sluice::storage
