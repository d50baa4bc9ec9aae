#include "common/single_flight.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sluice {
namespace {

// The first call holds its key until every other caller has joined it: all get its value,
// and fn runs once.
TEST(SingleFlight, OverlappingCallsShareOneExecution) {
  SingleFlight<std::shared_ptr<const std::string>> sf;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int runs = 0;
  auto fn = [&] {
    std::unique_lock l(mu);
    runs++;
    cv.wait(l, [&] { return release; });
    return std::make_shared<const std::string>("piece bytes");
  };
  std::vector<std::shared_ptr<const std::string>> got(8);
  std::vector<std::thread> ts;
  ts.emplace_back([&] { got[0] = sf.Do("d.1:0:1048576", fn); });
  while (sf.in_flight() == 0) std::this_thread::yield();
  for (int i = 1; i < 8; i++) ts.emplace_back([&, i] { got[i] = sf.Do("d.1:0:1048576", fn); });
  while (sf.joined() < 7) std::this_thread::yield();
  {
    std::lock_guard l(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& t : ts) t.join();
  EXPECT_EQ(runs, 1);
  for (const auto& g : got) EXPECT_EQ(g.get(), got[0].get());  // the same buffer, not copies
  EXPECT_EQ(*got[0], "piece bytes");
  EXPECT_EQ(sf.in_flight(), 0u);
  // Nothing is cached: a later call runs again.
  EXPECT_EQ(*sf.Do("d.1:0:1048576", fn), "piece bytes");
  EXPECT_EQ(runs, 2);
}

TEST(SingleFlight, OtherKeysDoNotWait) {
  SingleFlight<int> sf;
  EXPECT_EQ(sf.Do("a", [] { return 1; }), 1);
  EXPECT_EQ(sf.Do("b", [] { return 2; }), 2);
  EXPECT_EQ(sf.joined(), 0u);
}

TEST(SingleFlight, AnExceptionReachesEveryCallerAndFreesTheKey) {
  SingleFlight<int> sf;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  auto fail = [&]() -> int {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return release; });
    throw std::runtime_error("cluster unreachable");
  };
  int errors = 0;
  std::mutex emu;
  auto call = [&] {
    try {
      sf.Do("k", fail);
    } catch (const std::runtime_error&) {
      std::lock_guard l(emu);
      errors++;
    }
  };
  std::thread first(call);
  while (sf.in_flight() == 0) std::this_thread::yield();
  std::thread second(call);
  while (sf.joined() < 1) std::this_thread::yield();
  {
    std::lock_guard l(mu);
    release = true;
  }
  cv.notify_all();
  first.join();
  second.join();
  EXPECT_EQ(errors, 2);
  EXPECT_EQ(sf.in_flight(), 0u);
  EXPECT_EQ(sf.Do("k", [] { return 7; }), 7);
}

}  // namespace
}  // namespace sluice
