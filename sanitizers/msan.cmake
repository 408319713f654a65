# MemorySanitizer (clang only) with origin tracking; fuzz targets use the
# replay driver, so the corpus runs uninstrumented-libFuzzer-free.
set(CMAKE_C_COMPILER clang CACHE STRING "")
set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "")
set(VU_SANITIZE "memory" CACHE STRING "")
set(CMAKE_C_FLAGS "-fsanitize-memory-track-origins=2" CACHE STRING "")
set(VU_FUZZ_ENGINE replay CACHE STRING "")
set(VU_BUILD_BENCH OFF CACHE BOOL "")
set(VU_BUILD_EXAMPLES OFF CACHE BOOL "")
