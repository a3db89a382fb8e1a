// in_child_process: whatever goes wrong in the child reaches the parent as an error it can
// report in one line; the parent itself is never hurt.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace fracstudy::io
