// The data commands of the `sluice` binary: ls, cp, sync, rm, cat, mb, rb, presign, on
// s3:// URLs and local paths. Built on the public client header only.
//
// Exit codes: 0 everything done; 1 some transfers failed (each named on stderr); 2 bad
// usage or configuration, or no answer from the endpoint; 3 access denied; 4 no such
// bucket or object.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace sluice::cli {

class DataCommands {
 public:
  void Register(CLI::App& app);
  bool parsed() const;
  int Run();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::cli
