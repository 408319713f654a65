/*
 * cli.h: strict number parsing and error reporting for command lines.
 */
#ifndef EXAMPLES_CLI_H
#define EXAMPLES_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit status for a bad command line. */
#define CLI_EXIT_USAGE 2

/* Decimal (or 0x hex) integer in [min, max], the whole string.  With
 * allow_suffix, a K/M/G/T suffix multiplies by 1024^n. */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, bool allow_suffix,
                   uint64_t *out);

/* Print "prog: message" and "Try 'prog --help'." on stderr, exit 2. */
void cli_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif /* EXAMPLES_CLI_H */
