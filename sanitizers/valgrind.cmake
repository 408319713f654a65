# gcc, no sanitizer, for `ctest -T memcheck` (valgrind options are set in the
# top CMakeLists.txt: full leak check, fd tracking, error exit code 99).
set(CMAKE_C_COMPILER gcc CACHE STRING "")
set(CMAKE_BUILD_TYPE Debug CACHE STRING "")
set(VU_SANITIZE "" CACHE STRING "")
set(VU_FUZZ_ENGINE replay CACHE STRING "")
set(VU_BUILD_BENCH OFF CACHE BOOL "")
