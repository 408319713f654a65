# Source-based coverage (clang): every test and corpus replay writes a
# profile; sanitizers/run.sh coverage merges them and prints line and branch
# coverage of lib/.
set(CMAKE_C_COMPILER clang CACHE STRING "")
set(CMAKE_BUILD_TYPE Debug CACHE STRING "")
set(VU_SANITIZE "" CACHE STRING "")
set(CMAKE_C_FLAGS "-fprofile-instr-generate -fcoverage-mapping" CACHE STRING "")
set(CMAKE_EXE_LINKER_FLAGS "-fprofile-instr-generate" CACHE STRING "")
set(CMAKE_SHARED_LINKER_FLAGS "-fprofile-instr-generate" CACHE STRING "")
set(VU_FUZZ_ENGINE replay CACHE STRING "")
set(VU_BUILD_BENCH OFF CACHE BOOL "")
