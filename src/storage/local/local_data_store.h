// DataStore on a local file system, through io::FileSystem.
//
// Layout under `root` (see docs/storage-format.md):
//   tmp/<id>              written and committed, not yet referenced by the index
//   objects/<id[0:2]>/<id> published
// Commit = fdatasync(file) + fsync(tmp/). Published = rename into objects/ (not synced:
// after a crash, recovery finds the file in tmp/ and renames it again). Open looks in
// objects/ first, then tmp/, so a reader between the index commit and the rename still
// finds the bytes.
#pragma once

#include <string>

#include "io/env.h"
#include "storage/api/data_store.h"

namespace sluice::storage {

class LocalDataStore final : public DataStore {
 public:
  LocalDataStore(io::FileSystem* fs, io::Random* rnd, std::string root);
  // Creates the directory tree.
  Status Init();

  Result<std::unique_ptr<DataWriter>> Create() override;
  Result<std::unique_ptr<DataReader>> Open(const std::string& id) override;
  void Published(const std::string& id) override;
  Status Delete(const std::string& id) override;
  Result<std::vector<std::string>> ListUnpublished() override;

  std::string TmpPath(const std::string& id) const { return root_ + "/tmp/" + id; }
  std::string ObjectPath(const std::string& id) const;

 private:
  io::FileSystem* fs_;
  io::Random* rnd_;
  std::string root_;
};

}  // namespace sluice::storage
