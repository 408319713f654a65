# libFuzzer drivers with ASan+UBSan (for fuzzing, not for ctest).
#   cmake -C sanitizers/libfuzzer.cmake -S . -B build-fuzz
#   cmake --build build-fuzz --target fuzz_dispatch
#   build-fuzz/fuzz/fuzz_dispatch -dict=fuzz/fuzz_dispatch.dict corpus/fuzz_dispatch
set(CMAKE_C_COMPILER clang CACHE STRING "")
set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "")
set(VU_SANITIZE "address,undefined" CACHE STRING "")
set(VU_FUZZ_ENGINE libfuzzer CACHE STRING "")
set(VU_BUILD_TESTS OFF CACHE BOOL "")
set(VU_BUILD_EXAMPLES OFF CACHE BOOL "")
set(VU_BUILD_BENCH OFF CACHE BOOL "")
