# An INTERFACE target that carries the project's warning flags; every target links it.
add_library(fracstudy_warnings INTERFACE)
target_compile_options(fracstudy_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wdouble-promotion
  $<$<BOOL:${FRACSTUDY_WARNINGS_AS_ERRORS}>:-Werror>
  # GCC 12 reports impossible overlaps in std::string's operator+ (GCC bug 105329).
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)
