/*
 * The negative canary: reads one byte past a heap block.  The ASan and
 * valgrind configurations must report it (sanitizers/run.sh checks that they
 * do); a run where this program exits quietly means the checker is blind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t n =
        16 +
        (size_t)(argc > 99); /* not a constant the compiler can see through */
    char *p = malloc(n);
    volatile char c;

    (void)argv;
    if (!p) {
        return 2;
    }
    memset(p, 'x', n);
    c = p[n]; /* one byte past the end */
    printf("canary read %d\n", c);
    free(p);
    return 0;
}
