/*
 * Tiny test macros shared by every test program.
 *
 * A failed expectation prints file:line, the expression and the values and
 * exits the process with status 1, so CTest sees a failure and valgrind/ASan
 * reports still run their exit hooks. Tests are plain functions called from
 * main() through RUN_TEST(), which prints the name so a failure is easy to
 * locate in the CTest log.
 */
#ifndef VU_TEST_UTIL_H
#define VU_TEST_UTIL_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VU_TEST_FAIL(...)                                                      \
    do {                                                                       \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                   \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        fflush(stderr);                                                        \
        exit(1);                                                               \
    } while (0)

#define EXPECT_TRUE(cond)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            VU_TEST_FAIL("expected true: %s", #cond);                          \
        }                                                                      \
    } while (0)

#define EXPECT_FALSE(cond)                                                     \
    do {                                                                       \
        if (cond) {                                                            \
            VU_TEST_FAIL("expected false: %s", #cond);                         \
        }                                                                      \
    } while (0)

/* Integers of any width and signedness: compared as 64-bit values. */
#define EXPECT_EQ(a, b)                                                        \
    do {                                                                       \
        uint64_t vu_test_a_ = (uint64_t)(a);                                   \
        uint64_t vu_test_b_ = (uint64_t)(b);                                   \
        if (vu_test_a_ != vu_test_b_) {                                        \
            VU_TEST_FAIL("%s == %s: 0x%" PRIx64 " != 0x%" PRIx64 " (%" PRId64  \
                         " != %" PRId64 ")",                                   \
                         #a, #b, vu_test_a_, vu_test_b_, (int64_t)vu_test_a_,  \
                         (int64_t)vu_test_b_);                                 \
        }                                                                      \
    } while (0)

#define EXPECT_NE(a, b)                                                        \
    do {                                                                       \
        uint64_t vu_test_a_ = (uint64_t)(a);                                   \
        uint64_t vu_test_b_ = (uint64_t)(b);                                   \
        if (vu_test_a_ == vu_test_b_) {                                        \
            VU_TEST_FAIL("%s != %s: both 0x%" PRIx64, #a, #b, vu_test_a_);     \
        }                                                                      \
    } while (0)

#define EXPECT_LT(a, b)                                                        \
    do {                                                                       \
        int64_t vu_test_a_ = (int64_t)(a);                                     \
        int64_t vu_test_b_ = (int64_t)(b);                                     \
        if (!(vu_test_a_ < vu_test_b_)) {                                      \
            VU_TEST_FAIL("%s < %s: %" PRId64 " >= %" PRId64, #a, #b,           \
                         vu_test_a_, vu_test_b_);                              \
        }                                                                      \
    } while (0)

#define EXPECT_LE(a, b)                                                        \
    do {                                                                       \
        int64_t vu_test_a_ = (int64_t)(a);                                     \
        int64_t vu_test_b_ = (int64_t)(b);                                     \
        if (!(vu_test_a_ <= vu_test_b_)) {                                     \
            VU_TEST_FAIL("%s <= %s: %" PRId64 " > %" PRId64, #a, #b,           \
                         vu_test_a_, vu_test_b_);                              \
        }                                                                      \
    } while (0)

#define EXPECT_NULL(p)                                                         \
    do {                                                                       \
        const void *vu_test_p_ = (p);                                          \
        if (vu_test_p_ != NULL) {                                              \
            VU_TEST_FAIL("expected NULL: %s = %p", #p, vu_test_p_);            \
        }                                                                      \
    } while (0)

#define EXPECT_NOT_NULL(p)                                                     \
    do {                                                                       \
        if ((p) == NULL) {                                                     \
            VU_TEST_FAIL("expected non-NULL: %s", #p);                         \
        }                                                                      \
    } while (0)

#define EXPECT_STREQ(a, b)                                                     \
    do {                                                                       \
        const char *vu_test_a_ = (a);                                          \
        const char *vu_test_b_ = (b);                                          \
        if (vu_test_a_ == NULL || vu_test_b_ == NULL ||                        \
            strcmp(vu_test_a_, vu_test_b_) != 0) {                             \
            VU_TEST_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,                 \
                         vu_test_a_ ? vu_test_a_ : "(null)",                   \
                         vu_test_b_ ? vu_test_b_ : "(null)");                  \
        }                                                                      \
    } while (0)

/* Substring search: e.g. a panic message must name the request. */
#define EXPECT_CONTAINS(haystack, needle)                                      \
    do {                                                                       \
        const char *vu_test_h_ = (haystack);                                   \
        const char *vu_test_n_ = (needle);                                     \
        if (vu_test_h_ == NULL || strstr(vu_test_h_, vu_test_n_) == NULL) {    \
            VU_TEST_FAIL("%s does not contain \"%s\": \"%s\"", #haystack,      \
                         vu_test_n_, vu_test_h_ ? vu_test_h_ : "(null)");      \
        }                                                                      \
    } while (0)

#define EXPECT_MEMEQ(a, b, len)                                                \
    do {                                                                       \
        if (memcmp((a), (b), (len)) != 0) {                                    \
            VU_TEST_FAIL("memory differs: %s vs %s (%zu bytes)", #a, #b,       \
                         (size_t)(len));                                       \
        }                                                                      \
    } while (0)

/* For libc calls returning -1/errno: shows errno on failure. */
#define EXPECT_SUCCESS(call)                                                   \
    do {                                                                       \
        if ((call) < 0) {                                                      \
            VU_TEST_FAIL("%s failed: %s", #call, strerror(errno));             \
        }                                                                      \
    } while (0)

#define EXPECT_FAILURE_WITH_ERRNO(call, err)                                   \
    do {                                                                       \
        errno = 0;                                                             \
        if ((call) >= 0) {                                                     \
            VU_TEST_FAIL("%s succeeded, expected errno %d", #call, (err));     \
        }                                                                      \
        if (errno != (err)) {                                                  \
            VU_TEST_FAIL("%s: errno %d (%s), expected %d", #call, errno,       \
                         strerror(errno), (err));                              \
        }                                                                      \
    } while (0)

/*
 * A library bug that calls exit(0) (the original does on request 0 and on
 * EOF) must not look like a pass: until END_TESTS runs, any exit is turned
 * into status 3.
 */
static int vu_test_finished_;
static int vu_test_guard_set_;

static inline void vu_test_exit_guard_(void)
{
    if (!vu_test_finished_) {
        fprintf(stderr, "FAIL: process exited before END_TESTS\n");
        fflush(stderr);
        _Exit(3);
    }
}

static inline void vu_test_arm_guard_(void)
{
    if (!vu_test_guard_set_) {
        vu_test_guard_set_ = 1;
        atexit(vu_test_exit_guard_);
    }
}

/* VU_TEST_ONLY=name runs just that test (handy under a debugger). */
static inline int vu_test_selected_(const char *name)
{
    const char *only = getenv("VU_TEST_ONLY");

    return only == NULL || *only == '\0' || strcmp(only, name) == 0;
}

#define RUN_TEST(fn)                                                           \
    do {                                                                       \
        vu_test_arm_guard_();                                                  \
        if (vu_test_selected_(#fn)) {                                          \
            fprintf(stderr, "== %s\n", #fn);                                   \
            fn();                                                              \
        }                                                                      \
    } while (0)

#define END_TESTS()                                                            \
    do {                                                                       \
        vu_test_finished_ = 1;                                                 \
        fprintf(stderr, "PASS %s\n", __FILE__);                                \
        return 0;                                                              \
    } while (0)

#endif /* VU_TEST_UTIL_H */
