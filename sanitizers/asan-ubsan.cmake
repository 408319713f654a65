# AddressSanitizer + UndefinedBehaviorSanitizer, any error aborts.
#   cmake -C sanitizers/asan-ubsan.cmake -S . -B build-asan && cmake --build build-asan
#   ctest --test-dir build-asan -L "unit|fuzz|canary"
set(CMAKE_C_COMPILER clang CACHE STRING "")
set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "")
set(VU_SANITIZE "address,undefined" CACHE STRING "")
set(VU_FUZZ_ENGINE replay CACHE STRING "")
set(VU_BUILD_BENCH OFF CACHE BOOL "")
