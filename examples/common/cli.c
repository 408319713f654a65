/*
 * cli.c: command-line helpers shared by the examples.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static bool apply_suffix(char suffix, uint64_t *v)
{
    static const char units[] = "KMGT";
    unsigned int shift;

    for (shift = 0; units[shift]; shift++) {
        if (toupper((unsigned char)suffix) == units[shift]) {
            shift = 10 * (shift + 1);
            if (*v > (UINT64_MAX >> shift)) {
                return false;
            }
            *v <<= shift;
            return true;
        }
    }
    return false;
}

bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, bool allow_suffix,
                   uint64_t *out)
{
    unsigned long long v;
    uint64_t value;
    char *end;

    /* strtoull accepts "-1" and leading blanks: we do not. */
    if (!s || !isdigit((unsigned char)s[0])) {
        return false;
    }
    errno = 0;
    /* Decimal, or hex with 0x: a leading zero does not mean octal. */
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (!isxdigit((unsigned char)s[2])) {
            return false; /* also refuses "0x-1", which strtoull takes */
        }
        v = strtoull(s + 2, &end, 16);
    } else {
        v = strtoull(s, &end, 10);
    }
    if (errno || end == s) {
        return false;
    }
    value = v;
    if (*end &&
        !(allow_suffix && end[1] == '\0' && apply_suffix(*end, &value))) {
        return false;
    }
    if (value < min || value > max) {
        return false;
    }
    *out = value;
    return true;
}

void cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    exit(CLI_EXIT_USAGE);
}
