# An INTERFACE target that carries the project's warning flags; every target links it.
add_library(fracstudy_warnings INTERFACE)
target_compile_options(fracstudy_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wdouble-promotion
  $<$<BOOL:${FRACSTUDY_WARNINGS_AS_ERRORS}>:-Werror>)
