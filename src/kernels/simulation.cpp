#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels {

Deadline Deadline::after(double seconds) {
  if (!(seconds > 0)) return none();
  const auto span =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  return Deadline{Clock::now() + span};
}

}  // namespace fracstudy::kernels
