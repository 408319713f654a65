/*
 * vhost-user-blk: a virtio-blk device backend built on libvhost-user.
 *
 * Command line follows the vhost-user "backend program conventions":
 * --socket-path / --fd / --print-capabilities, plus --blk-file and
 * --read-only.  See usage() for the rest.
 */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk-config.h"
#include "blk-device.h"
#include "cli.h"
#include "queue-poll.h"

#define PROG "vhost-user-blk"
#define DEFAULT_NULL_SIZE (2ULL << 30)

struct blk_options {
    const char *blk_file;
    const char *socket_path;
    int fd;
    bool read_only;
    bool null_store;
    bool size_given;
    bool print_capabilities;
    uint64_t size;
    uint64_t poll_us;
    uint16_t num_queues;
};

static void usage(void)
{
    printf("Usage: " PROG " (--blk-file PATH | --null [--size BYTES])\n"
           "       (--socket-path PATH | --fd N) [options]\n"
           "\n"
           "  -b, --blk-file PATH     disk image: a regular file or a block "
           "device\n"
           "      --null              no backing store: requests complete "
           "at once\n"
           "      --size BYTES        capacity with --null (K/M/G/T "
           "suffixes;\n"
           "                          a multiple of 512; default 2G)\n"
           "  -r, --read-only         export the disk read-only\n"
           "  -n, --num-queues N      request queues (1-%u, default 1)\n"
           "  -s, --socket-path PATH  listen on a UNIX socket; after a "
           "frontend\n"
           "                          disconnects, accept the next one\n"
           "  -f, --fd N              use inherited socket N: if it is "
           "listening,\n"
           "                          accept from it like --socket-path; "
           "if it is\n"
           "                          connected, serve it and exit when it "
           "closes\n"
           "  -p, --poll-us N         after the last request, keep polling "
           "the queue\n"
           "                          for N microseconds before sleeping "
           "(0-%u,\n"
           "                          default %u; 0 waits for kicks only)\n"
           "  -c, --print-capabilities  print the backend capabilities as "
           "JSON\n"
           "  -h, --help              show this help\n"
           "\n"
           "SIGINT or SIGTERM stops the backend cleanly.\n",
           BLK_MAX_QUEUES, POLL_MAX_US, POLL_DEFAULT_US);
}

static void print_capabilities(void)
{
    /* Schema: QEMU docs/interop/vhost-user.json, VHostUserBackendType
     * "block" and VHostUserBackendBlockFeature. */
    printf("{\n"
           "  \"type\": \"block\",\n"
           "  \"features\": [\n"
           "    \"read-only\",\n"
           "    \"blk-file\"\n"
           "  ]\n"
           "}\n");
}

enum { OPT_NULL = 256, OPT_SIZE };

static const struct option long_options[] = {
    { "blk-file", required_argument, NULL, 'b' },
    { "null", no_argument, NULL, OPT_NULL },
    { "size", required_argument, NULL, OPT_SIZE },
    { "read-only", no_argument, NULL, 'r' },
    { "num-queues", required_argument, NULL, 'n' },
    { "socket-path", required_argument, NULL, 's' },
    { "fd", required_argument, NULL, 'f' },
    { "poll-us", required_argument, NULL, 'p' },
    { "print-capabilities", no_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static uint64_t parse_number(const char *opt, const char *arg, uint64_t min,
                             uint64_t max, bool suffix)
{
    uint64_t v;

    if (!cli_parse_u64(arg, min, max, suffix, &v)) {
        cli_usage_error(PROG, "invalid %s '%s' (expected %llu..%llu)", opt, arg,
                        (unsigned long long)min, (unsigned long long)max);
    }
    return v;
}

static void parse_one(int c, struct blk_options *o)
{
    switch (c) {
    case 'b':
        o->blk_file = optarg;
        break;
    case OPT_NULL:
        o->null_store = true;
        break;
    case OPT_SIZE:
        o->size = parse_number("--size", optarg, 512, INT64_MAX, true);
        o->size_given = true;
        break;
    case 'r':
        o->read_only = true;
        break;
    case 'n':
        o->num_queues = (uint16_t)parse_number("--num-queues", optarg, 1,
                                               BLK_MAX_QUEUES, false);
        break;
    case 's':
        o->socket_path = optarg;
        break;
    case 'f':
        o->fd = (int)parse_number("--fd", optarg, 0, INT32_MAX, false);
        break;
    case 'p':
        o->poll_us = parse_number("--poll-us", optarg, 0, POLL_MAX_US, false);
        break;
    case 'c':
        o->print_capabilities = true;
        break;
    case 'h':
        usage();
        exit(0);
    default: /* getopt already said what is wrong */
        fprintf(stderr, "Try '" PROG " --help' for more information.\n");
        exit(CLI_EXIT_USAGE);
    }
}

static void check_options(const struct blk_options *o)
{
    if (!o->socket_path == (o->fd < 0)) {
        cli_usage_error(PROG, "exactly one of --socket-path and --fd is "
                              "required");
    }
    if (!o->blk_file == !o->null_store) {
        cli_usage_error(PROG, "exactly one of --blk-file and --null is "
                              "required");
    }
    if (o->size_given && !o->null_store) {
        cli_usage_error(PROG, "--size only applies to --null");
    }
    if (o->size % 512) {
        cli_usage_error(PROG, "--size must be a multiple of 512");
    }
}

static void parse_options(int argc, char **argv, struct blk_options *o)
{
    int c;

    *o = (struct blk_options){ .fd = -1,
                               .num_queues = 1,
                               .size = DEFAULT_NULL_SIZE,
                               .poll_us = POLL_DEFAULT_US };
    while ((c = getopt_long(argc, argv, "b:rn:s:f:p:ch", long_options, NULL)) !=
           -1) {
        parse_one(c, o);
    }
    if (optind < argc) {
        cli_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
    }
    if (!o->print_capabilities) {
        check_options(o);
    }
}

static int open_store(struct blk_store *st, const struct blk_options *o)
{
    if (o->null_store) {
        blk_store_open_null(st, o->size, o->read_only);
        return 0;
    }
    if (blk_store_open(st, o->blk_file, o->read_only) < 0) {
        return -1;
    }
    if (st->size == 0) {
        fprintf(stderr, PROG ": %s is smaller than one sector\n", o->blk_file);
        blk_store_close(st);
        return -1;
    }
    return 0;
}

static const char *serial_of(const struct blk_options *o, char *copy,
                             size_t size)
{
    if (o->null_store) {
        return "vhost-user-blk-null";
    }
    snprintf(copy, size, "%s", o->blk_file);
    return basename(copy);
}

static void on_idle(void *opaque)
{
    struct blk_device *blk = opaque;

    vu_session_reap(&blk->session);
    if (blk->session.finished) {
        ev_loop_stop(blk->session.loop);
    }
}

static int start_listening(struct blk_device *blk, const struct blk_options *o)
{
    if (o->socket_path) {
        if (vu_session_listen_path(&blk->session, o->socket_path) < 0) {
            return -1;
        }
        fprintf(stderr, PROG ": listening on %s\n", o->socket_path);
        return 0;
    }
    return vu_session_use_fd(&blk->session, o->fd) < 0 ? -1 : 0;
}

static int run(const struct blk_options *o)
{
    static struct blk_device blk; /* large: keep it off the stack */
    char path_copy[4096];
    struct ev_loop loop;
    int rc;

    if (open_store(&blk.store, o) < 0) {
        return EXIT_FAILURE;
    }
    if (ev_loop_init(&loop) < 0) {
        perror(PROG ": event loop");
        blk_store_close(&blk.store);
        return EXIT_FAILURE;
    }
    rc = blk_device_init(&blk, &loop, o->num_queues,
                         serial_of(o, path_copy, sizeof(path_copy)),
                         o->poll_us * 1000);
    ev_loop_set_idle_hook(&loop, on_idle, &blk);
    if (rc == 0) {
        rc = start_listening(&blk, o);
    }
    if (rc == 0) {
        rc = ev_loop_run(&loop);
    }
    vu_session_close(&blk.session);
    blk_store_close(&blk.store);
    ev_loop_fini(&loop);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    struct blk_options o;

    parse_options(argc, argv, &o);
    if (o.print_capabilities) {
        print_capabilities();
        return EXIT_SUCCESS;
    }
    return run(&o);
}
