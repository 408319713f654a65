/*
 * A program outside the project, built against the installed library only
 * (headers from <prefix>/include, library from <prefix>/lib) to prove that
 * the installed package is usable: it calls a few API functions and checks
 * their results.  Built several ways by run.sh: pkg-config (shared and
 * static) and CMake find_package (shared and static).
 */
#include <libvhost-user.h>
#include <vhost-user-ext.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef VU_EXPECTED_VERSION
#error "build with -DVU_EXPECTED_VERSION=\"x.y.z\""
#endif
#ifndef VU_HOW
#define VU_HOW "?"
#endif

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "consumer (%s): check failed: %s\n", VU_HOW,       \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static void on_panic(VuDev *dev, const char *err)
{
    (void)dev;
    fprintf(stderr, "consumer (%s): panic: %s\n", VU_HOW, err);
    failures++;
}

static void on_set_watch(VuDev *dev, int fd, int cond, vu_watch_cb cb,
                         void *data)
{
    (void)dev;
    (void)fd;
    (void)cond;
    (void)cb;
    (void)data;
}

static void on_remove_watch(VuDev *dev, int fd)
{
    (void)dev;
    (void)fd;
}

static uint64_t get_features(VuDev *dev)
{
    (void)dev;
    return 0;
}

int main(void)
{
    const char *s = vu_request_to_string(VHOST_USER_GET_FEATURES);
    CHECK(s != NULL && strstr(s, "GET_FEATURES") != NULL);
    s = vu_request_to_string(VHOST_USER_SET_VRING_KICK);
    CHECK(s != NULL && strstr(s, "SET_VRING_KICK") != NULL);
    CHECK(vu_request_to_string(100000) != NULL);
    CHECK(strcmp(vu_version(), VU_EXPECTED_VERSION) == 0);

    /* A device on a connected socket, set up and torn down. */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    static const VuDevIface iface = { .get_features = get_features };
    VuDev dev;
    memset(&dev, 0, sizeof(dev));
    CHECK(vu_init(&dev, 2, sv[0], on_panic, NULL, on_set_watch, on_remove_watch,
                  &iface));
    VuVirtq *vq = vu_get_queue(&dev, 1);
    CHECK(vq != NULL);
    CHECK(vq != NULL && !vu_queue_started(&dev, vq));
    vu_deinit(&dev); /* closes sv[0] */
    close(sv[1]);

    if (failures) {
        fprintf(stderr, "consumer (%s): %d check(s) failed\n", VU_HOW,
                failures);
        return 1;
    }
    printf("consumer (%s): OK, libvhost-user %s\n", VU_HOW, vu_version());
    return 0;
}
