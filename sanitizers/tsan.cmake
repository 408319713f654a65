# ThreadSanitizer: the threaded paths (vu_queue_notify_sync, the backend
# channel and its mutex) in the unit tests, plus the corpus replays.
set(CMAKE_C_COMPILER clang CACHE STRING "")
set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "")
set(VU_SANITIZE "thread" CACHE STRING "")
set(VU_FUZZ_ENGINE replay CACHE STRING "")
set(VU_BUILD_BENCH OFF CACHE BOOL "")
