// `sluice admin ...`: users, access keys and policies over the admin API, and bucket
// policies over the S3 API. Built on the public client header only.
#pragma once

#include <CLI/CLI.hpp>

namespace sluice::cli {

// Adds the `admin` subcommand tree to `app`; Run() executes whichever was parsed.
class AdminCommand {
 public:
  void Register(CLI::App& app);
  bool parsed() const;
  int Run();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::cli
