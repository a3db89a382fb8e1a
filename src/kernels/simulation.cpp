#include "fracstudy/kernels/simulation.hpp"

namespace fracstudy::kernels {

Deadline Deadline::after(double seconds) {
  if (!(seconds > 0)) return none();
  const auto now = Clock::now();
  // Beyond what the clock can count from now (about 290 years in nanoseconds) there is no
  // deadline: adding such a span would overflow and put the deadline in the past.
  const double room_s = std::chrono::duration<double>(Clock::time_point::max() - now).count();
  if (seconds >= room_s) return none();
  return Deadline{
      now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds))};
}

}  // namespace fracstudy::kernels
