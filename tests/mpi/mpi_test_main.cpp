// A GoogleTest main for tests run under mpirun: MPI lives for the whole run, and only
// rank 0 prints (each rank still asserts, and a failure on any rank fails the job).
#include <gtest/gtest.h>
#include <mpi.h>

#include "fracstudy/transport/mpi_transport.hpp"

int main(int argc, char** argv) {
  // As in fracstudy itself: MPI errors come back as codes (MpiError), not job aborts.
  const fracstudy::transport::MpiEnvironment mpi(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local = RUN_ALL_TESTS();
  int global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return global;  // the environment finalises MPI
}
