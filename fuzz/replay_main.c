/*
 * replay_main.c: the plain driver.  Runs LLVMFuzzerTestOneInput once per file
 * named on the command line (directories are walked, one level, sorted), with
 * a SIGALRM timeout per input, so every corpus can be replayed by CTest,
 * under valgrind, MSan or a coverage build, without libFuzzer.
 *
 *   fuzz_dispatch [-t seconds] [-v] file-or-dir...
 *
 * Exit status: 0 when every input ran; 1 on a usage or I/O error; an
 * invariant violation or sanitizer report aborts as it would under a fuzzer.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *current;
static unsigned timeout_s = 25;
static int verbose;

static void on_alarm(int sig)
{
    static const char msg[] = "replay: timeout on input ";

    (void)sig;
    /* async-signal-safe only */
    if (write(2, msg, sizeof(msg) - 1) < 0 ||
        write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0) {
        /* nothing more to do */
    }
    abort();
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (!f) {
        perror(path);
        return 1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        fclose(f);
        return 1;
    }
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        perror(path);
        free(buf);
        fclose(f);
        return 1;
    }
    fclose(f);
    current = path;
    if (verbose) {
        fprintf(stderr, "replay: %s (%ld bytes)\n", path, len);
    }
    alarm(timeout_s);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    alarm(0);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path, unsigned *count)
{
    struct stat st;
    struct dirent **names;
    int n, rc = 0;

    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        perror(path);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char *child;

        if (names[i]->d_name[0] != '.' &&
            asprintf(&child, "%s/%s", path, names[i]->d_name) >= 0) {
            if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
                (*count)++;
                rc |= run_file(child);
            }
            free(child);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int rc = 0, i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            timeout_s = (unsigned)atoi(argv[++i]);
        } else if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else {
            fprintf(stderr, "usage: %s [-t seconds] [-v] file-or-dir...\n",
                    argv[0]);
            return 1;
        }
    }
    if (i == argc) {
        fprintf(stderr, "usage: %s [-t seconds] [-v] file-or-dir...\n",
                argv[0]);
        return 1;
    }
    signal(SIGALRM, on_alarm);
    /* Few inputs: let the targets count every fd after every one of them. */
    setenv("FUZZ_FD_CHECK_ALWAYS", "1", 0);
    LLVMFuzzerInitialize(&argc, &argv);
    for (; i < argc; i++) {
        rc |= run_path(argv[i], &count);
    }
    fprintf(stderr, "replay: %u inputs run%s\n", count,
            rc ? " (with I/O errors)" : "");
    return rc;
}
