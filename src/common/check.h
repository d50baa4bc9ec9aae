// The three kinds of assertion (../shared/DESIGN.md: errors are values; a broken invariant
// is not an error, it is a bug, and each kind of bug is handled one way):
//
// - SLUICE_CHECK(cond, what): a fatal check, in every build. For invariants whose breach
//   makes going on unsafe (acting on a value that is not there, an index that names data
//   it should not): the process prints where and what, and aborts. Crash recovery is
//   designed for that; silently going on could damage stored data.
// - SLUICE_DCHECK(cond, what): a debug invariant, checked in builds without NDEBUG (the
//   ASan/UBSan test build) and compiled out of release builds. For costly checks on hot
//   paths.
// - SLUICE_BUG(what): a bug path that can be survived (a request the code believed
//   impossible): returns a kInternal Status for the request to fail with (a 500), and
//   counts it in BugCount(), which /metrics exports as sluice_bugs_total, so that it is
//   seen and not only logged.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/status.h"

namespace sluice {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* cond,
                                     std::string_view what) {
  std::fprintf(stderr, "sluice: fatal check failed at %s:%d: %s: %.*s\n", file, line, cond,
               static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

inline std::atomic<uint64_t>& BugCounter() {
  static std::atomic<uint64_t> n{0};
  return n;
}
inline uint64_t BugCount() { return BugCounter().load(std::memory_order_relaxed); }

inline Status BugStatus(const char* file, int line, const std::string& what) {
  BugCounter().fetch_add(1, std::memory_order_relaxed);
  std::fprintf(stderr, "sluice: bug at %s:%d: %s\n", file, line, what.c_str());
  return Status(Err::kInternal, "internal bug: " + what);
}

}  // namespace sluice

#define SLUICE_CHECK(cond, what) \
  ((cond) ? (void)0 : ::sluice::CheckFailed(__FILE__, __LINE__, #cond, (what)))

#ifdef NDEBUG
#define SLUICE_DCHECK(cond, what) ((void)0)
#else
#define SLUICE_DCHECK(cond, what) SLUICE_CHECK(cond, what)
#endif

#define SLUICE_BUG(what) ::sluice::BugStatus(__FILE__, __LINE__, (what))
