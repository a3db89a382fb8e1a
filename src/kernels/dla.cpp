#include "fracstudy/kernels/dla.hpp"
