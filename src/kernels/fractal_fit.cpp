#include "fracstudy/kernels/fractal_fit.hpp"
