/*
 * Unit tests of the iovec helpers used on guest buffers.
 */
#include <string.h>

#include "iov.h"
#include "test_util.h"

static char a[5] = "abcde", b[1], c[4] = "fghi";
static struct iovec three[3];

static void setup(void)
{
    memcpy(a, "abcde", 5);
    memcpy(c, "fghi", 4);
    three[0] = (struct iovec){ a, 5 };
    three[1] = (struct iovec){ b, 0 }; /* empty entries are legal */
    three[2] = (struct iovec){ c, 4 };
}

static void test_size(void)
{
    struct iovec huge[2] = { { a, SIZE_MAX }, { a, 2 } };

    setup();
    EXPECT_EQ(iov_size(three, 3), 9);
    EXPECT_EQ(iov_size(three, 0), 0);
    EXPECT_EQ(iov_size(huge, 2), SIZE_MAX); /* saturates */
}

static void test_to_from_buf(void)
{
    char out[16] = { 0 };

    setup();
    EXPECT_EQ(iov_to_buf(three, 3, 3, out, 4), 4);
    EXPECT_EQ(memcmp(out, "defg", 4), 0);
    EXPECT_EQ(iov_to_buf(three, 3, 7, out, 10), 2); /* clipped at the end */
    EXPECT_EQ(iov_to_buf(three, 3, 9, out, 1), 0);
    EXPECT_EQ(iov_to_buf(three, 3, 100, out, 1), 0);
    EXPECT_EQ(iov_from_buf(three, 3, 4, "XYZ", 3), 3);
    EXPECT_EQ(memcmp(a, "abcdX", 5), 0);
    EXPECT_EQ(memcmp(c, "YZhi", 4), 0);
    EXPECT_EQ(iov_from_buf(three, 3, 8, "12", 2), 1);
    EXPECT_EQ(c[3], '1');
}

static void test_slice(void)
{
    struct iovec out[3];

    setup();
    EXPECT_EQ(iov_slice(three, 3, 2, 5, out, 3), 2);
    EXPECT_TRUE(out[0].iov_base == a + 2 && out[0].iov_len == 3);
    EXPECT_TRUE(out[1].iov_base == c && out[1].iov_len == 2);
    EXPECT_EQ(iov_slice(three, 3, 0, 0, out, 0), 0);
    EXPECT_EQ(iov_slice(three, 3, 5, 4, out, 1), 1);  /* skips the empty one */
    EXPECT_EQ(iov_slice(three, 3, 2, 8, out, 3), -1); /* past the end */
    EXPECT_EQ(iov_slice(three, 3, 0, 9, out, 1), -1); /* too many entries */
}

static void test_copy(void)
{
    char d1[2], d2[6];
    struct iovec dst[2] = { { d1, 2 }, { d2, 6 } };

    setup();
    memset(d1, '.', 2);
    memset(d2, '.', 6);
    EXPECT_EQ(iov_copy(dst, 2, 1, three, 3, 3, 6), 6);
    EXPECT_EQ(memcmp(d1, ".d", 2), 0);
    EXPECT_EQ(memcmp(d2, "efghi.", 6), 0);
    EXPECT_EQ(iov_copy(dst, 2, 7, three, 3, 0, 9), 1); /* destination full */
    EXPECT_EQ(iov_copy(dst, 2, 0, three, 3, 8, 9), 1); /* source ends */
}

static void test_advance(void)
{
    struct iovec *p = three;
    unsigned int cnt = 3;

    setup();
    iov_advance(&p, &cnt, 2);
    EXPECT_TRUE(p == three && cnt == 3 && p->iov_len == 3);
    iov_advance(&p, &cnt, 3); /* the first and the empty entry are gone */
    EXPECT_TRUE(p == three + 2 && cnt == 1 && p->iov_len == 4);
    iov_advance(&p, &cnt, 4);
    EXPECT_EQ(cnt, 0);
}

int main(void)
{
    test_size();
    test_to_from_buf();
    test_slice();
    test_copy();
    test_advance();
    printf("test-iov: all passed\n");
    return 0;
}
