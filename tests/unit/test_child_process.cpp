// in_child_process: whatever goes wrong in the child reaches the parent as an error it can
// report in one line; the parent itself is never hurt.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "fracstudy/io/child_process.hpp"
#include "fracstudy/study/errors.hpp"

namespace fracstudy::io {
namespace {

TEST(ChildProcess, ReturnsWhatTheChildReturned) {
  EXPECT_EQ(in_child_process([] { return std::string(300000, 'x'); }).size(), 300000U);
}

TEST(ChildProcess, AnErrorComesBackWithItsExitCode) {
  try {
    in_child_process([]() -> std::string { throw study::InputError("bad key"); });
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "bad key");
    EXPECT_EQ(error.exit_code(), kBadInput);
  }
}

TEST(ChildProcess, ACrashNamesTheSignalAndTheLastLineTheChildWrote) {
  try {
    in_child_process([]() -> std::string {
      std::fputs("first line\nfree(): invalid pointer\n", stderr);
      std::fflush(stderr);
      std::abort();
    });
    FAIL() << "no crash";
  } catch (const ChildCrashed& crash) {
    EXPECT_EQ(crash.signal_number(), SIGABRT);
    EXPECT_STREQ(crash.what(), "crashed (signal 6: free(): invalid pointer)");
  }
}

TEST(ChildProcess, AMemoryBudgetTurnsAHugeAllocationIntoAnError) {
  const std::uint64_t budget = std::uint64_t{256} << 20;
  // 4 GiB, as a damaged length field would ask for: refused, not allocated and cleared.
  EXPECT_THROW(in_child_process(
                   [] {
                     std::vector<char> huge(std::size_t{4} << 30, 1);
                     return std::string(1, huge.back());
                   },
                   budget),
               Error);
  // What fits in the budget is allowed.
  EXPECT_EQ(in_child_process(
                [] {
                  std::vector<char> fits(std::size_t{64} << 20, 1);
                  return std::string(1, fits.back());
                },
                budget),
            std::string(1, '\1'));
}

TEST(ChildProcess, ACpuLimitEndsAnEndlessLoop) {
  // As HDF5 loops on some damaged global heaps: the child dies of SIGXCPU after 1 s.
  try {
    in_child_process(
        [] {
          volatile std::uint64_t spins = 0;
          while (true)
            spins = spins + 1;
          return std::string();
        },
        0, 1.0);
    FAIL() << "the endless loop returned";
  } catch (const ChildCrashed& crash) {
    EXPECT_EQ(crash.signal_number(), SIGXCPU);
  }
}

TEST(ChildProcess, AWallLimitEndsAChildBlockedWithoutUsingCpu) {
  // A child that waits forever uses no CPU, so only the wall clock can end it (as a child
  // forked while another thread held a lock it needs would wait). The same in_child_process
  // without the wall limit would not return at all.
  const auto start = std::chrono::steady_clock::now();
  try {
    in_child_process(
        [] {
          ::pause();
          return std::string("woken");
        },
        0, 1.0, 1.0);
    FAIL() << "the blocked child returned";
  } catch (const ChildStalled& stalled) {
    EXPECT_STREQ(stalled.what(), "did not end within 1 s");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // Killed and reaped: no child of this process is left.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(ChildProcess, AWallLimitLetsAChildThatEndsInTimeAnswer) {
  EXPECT_EQ(in_child_process(
                [] {
                  ::usleep(100'000);
                  return std::string(200000, 'y');
                },
                0, 0, 30.0)
                .size(),
            200000U);
}

}  // namespace
}  // namespace fracstudy::io
