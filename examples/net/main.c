/*
 * vhost-user-net: an L2 switch between vhost-user ports, built on
 * libvhost-user.  Each --socket-path is one port; frames are forwarded by
 * learned MAC address and flooded when the destination is unknown or a
 * group address.  --reflect instead returns every frame to its sender
 * with the addresses swapped (a load-test peer for traffic generators).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "net-port.h"
#include "queue-poll.h"

#define PROG "vhost-user-net"

struct net_options {
    const char *socket_path[NET_MAX_PORTS];
    unsigned int nsockets;
    uint16_t queue_pairs;
    uint64_t poll_us;
    bool reflect;
    bool single_api;
    bool print_capabilities;
};

static void usage(void)
{
    printf("Usage: " PROG " --socket-path PATH [--socket-path PATH ...] "
           "[options]\n"
           "\n"
           "  -s, --socket-path PATH  add a switch port listening on a UNIX "
           "socket\n"
           "                          (repeatable, up to %d); after a "
           "frontend\n"
           "                          disconnects, the port accepts the next "
           "one\n"
           "  -q, --queues N          queue pairs per port (1-%d, default "
           "1)\n"
           "  -r, --reflect           send every frame back to its sender "
           "with the\n"
           "                          MAC addresses swapped (no switching)\n"
           "  -p, --poll-us N         after the last frame, keep polling a "
           "tx queue\n"
           "                          for N microseconds before sleeping "
           "(0-%u,\n"
           "                          default %u; 0 waits for kicks only)\n"
           "      --single-api        one vu_queue_pop/vu_queue_push per "
           "buffer\n"
           "                          instead of the batch calls (for "
           "comparison)\n"
           "  -c, --print-capabilities  print the backend capabilities as "
           "JSON\n"
           "  -h, --help              show this help\n"
           "\n"
           "SIGINT or SIGTERM stops the switch cleanly and prints its "
           "counters.\n",
           NET_MAX_PORTS, NET_MAX_QUEUE_PAIRS, POLL_MAX_US, POLL_DEFAULT_US);
}

static void print_capabilities(void)
{
    /* Schema: QEMU docs/interop/vhost-user.json; "net" defines no
     * features. */
    printf("{\n"
           "  \"type\": \"net\"\n"
           "}\n");
}

static const struct option long_options[] = {
    { "socket-path", required_argument, NULL, 's' },
    { "queues", required_argument, NULL, 'q' },
    { "reflect", no_argument, NULL, 'r' },
    { "poll-us", required_argument, NULL, 'p' },
    { "print-capabilities", no_argument, NULL, 'c' },
    { "single-api", no_argument, NULL, 'S' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void parse_one(int c, struct net_options *o)
{
    uint64_t v;

    switch (c) {
    case 's':
        if (o->nsockets == NET_MAX_PORTS) {
            cli_usage_error(PROG, "at most %d --socket-path ports",
                            NET_MAX_PORTS);
        }
        o->socket_path[o->nsockets++] = optarg;
        break;
    case 'q':
        if (!cli_parse_u64(optarg, 1, NET_MAX_QUEUE_PAIRS, false, &v)) {
            cli_usage_error(PROG, "invalid --queues '%s' (expected 1..%d)",
                            optarg, NET_MAX_QUEUE_PAIRS);
        }
        o->queue_pairs = (uint16_t)v;
        break;
    case 'r':
        o->reflect = true;
        break;
    case 'p':
        if (!cli_parse_u64(optarg, 0, POLL_MAX_US, false, &v)) {
            cli_usage_error(PROG, "invalid --poll-us '%s' (expected 0..%d)",
                            optarg, POLL_MAX_US);
        }
        o->poll_us = v;
        break;
    case 'c':
        o->print_capabilities = true;
        break;
    case 'S':
        o->single_api = true;
        break;
    case 'h':
        usage();
        exit(0);
    default: /* getopt already said what is wrong */
        fprintf(stderr, "Try '" PROG " --help' for more information.\n");
        exit(CLI_EXIT_USAGE);
    }
}

static void parse_options(int argc, char **argv, struct net_options *o)
{
    int c;

    *o = (struct net_options){ .queue_pairs = 1, .poll_us = POLL_DEFAULT_US };
    while ((c = getopt_long(argc, argv, "s:q:rp:ch", long_options, NULL)) !=
           -1) {
        parse_one(c, o);
    }
    if (optind < argc) {
        cli_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
    }
    if (!o->print_capabilities && o->nsockets == 0) {
        cli_usage_error(PROG, "at least one --socket-path is required");
    }
}

static void on_idle(void *opaque)
{
    net_switch_reap(opaque);
}

static void print_stats(const struct net_stats *st)
{
    fprintf(
        stderr,
        PROG ": %llu frames in, %llu delivered, %llu dropped (no room "
             "or port down), %llu malformed\n",
        (unsigned long long)st->tx_frames, (unsigned long long)st->rx_frames,
        (unsigned long long)st->rx_dropped, (unsigned long long)st->bad_frames);
}

static int run(const struct net_options *o)
{
    static struct net_switch sw; /* the MAC table is large */
    struct ev_loop loop;
    unsigned int i;
    int rc = 0;

    if (ev_loop_init(&loop) < 0) {
        perror(PROG ": event loop");
        return EXIT_FAILURE;
    }
    net_switch_init(&sw, &loop, o->queue_pairs, o->reflect, o->poll_us * 1000);
    sw.single_api = o->single_api;
    ev_loop_set_idle_hook(&loop, on_idle, &sw);
    for (i = 0; i < o->nsockets && rc == 0; i++) {
        rc = net_switch_add_port(&sw, o->socket_path[i]);
        if (rc == 0) {
            fprintf(stderr, PROG ": port %u listening on %s\n", i,
                    o->socket_path[i]);
        }
    }
    if (rc == 0) {
        rc = ev_loop_run(&loop);
    }
    print_stats(&sw.stats);
    net_switch_close(&sw);
    ev_loop_fini(&loop);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    struct net_options o;

    parse_options(argc, argv, &o);
    if (o.print_capabilities) {
        print_capabilities();
        return EXIT_SUCCESS;
    }
    return run(&o);
}
