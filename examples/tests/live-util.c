/*
 * live-util.c: child-process and ring helpers of the live tests.
 */
#include "live-util.h"

#include <endian.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* LIVE_WRAPPER="valgrind --error-exitcode=99 ..." runs the backend under
 * a tool: its words go in front of argv. */
static void exec_backend(char *const argv[])
{
    char *words[32], *full[64], *wrapper = getenv("LIVE_WRAPPER");
    unsigned int n = 0, i;

    if (wrapper && *wrapper) {
        wrapper = strdup(wrapper);
        for (char *w = strtok(wrapper, " "); w && n < 32;
             w = strtok(NULL, " ")) {
            words[n++] = w;
        }
    }
    for (i = 0; i < n; i++) {
        full[i] = words[i];
    }
    for (i = 0; argv[i] && n + i < 63; i++) {
        full[n + i] = argv[i];
    }
    full[n + i] = NULL;
    execvp(full[0], full);
    _exit(127);
}

pid_t live_spawn(char *const argv[], const char *socket_path)
{
    struct stat st;
    pid_t pid;
    int i;

    unlink(socket_path);
    fflush(NULL);
    pid = fork();
    EXPECT_SUCCESS(pid);
    if (pid == 0) {
        exec_backend(argv);
    }
    for (i = 0; i < 1000; i++) {
        if (stat(socket_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            return pid;
        }
        EXPECT_EQ(waitpid(pid, NULL, WNOHANG), 0); /* still running */
        sleep_ms(10);
    }
    VU_TEST_FAIL("%s did not create %s", argv[0], socket_path);
}

pid_t live_spawn_with_fd(char *const argv[], int fd)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    EXPECT_SUCCESS(pid);
    if (pid == 0) {
        if (dup2(fd, 3) != 3) {
            _exit(126);
        }
        exec_backend(argv);
    }
    return pid;
}

void live_wait_exit(pid_t pid)
{
    int status = 0, i;

    for (i = 0; i < 1000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            EXPECT_TRUE(WIFEXITED(status));
            EXPECT_EQ(WEXITSTATUS(status), 0);
            return;
        }
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    VU_TEST_FAIL("backend still running after 10 s");
}

void live_stop(pid_t pid, int sig)
{
    EXPECT_SUCCESS(kill(pid, sig));
    live_wait_exit(pid);
}

void live_connect(struct vu_frontend *fe, const char *path)
{
    EXPECT_TRUE(fe_connect_path(fe, path, 5000));
}

void live_post(struct live_ring *lr, const struct live_seg *segs,
               unsigned int n)
{
    struct fe_ring *r = &lr->r;
    uint16_t head, slot = 0;
    unsigned int i;

    EXPECT_LE(n, r->num);
    if (lr->next_desc + n > r->num) {
        lr->next_desc = 0; /* earlier chains are complete by now */
    }
    head = (uint16_t)lr->next_desc;
    for (i = 0; i < n; i++) {
        slot = (uint16_t)(lr->next_desc++);
        r->desc[slot].addr = htole64(segs[i].gpa);
        r->desc[slot].len = htole32(segs[i].len);
        r->desc[slot].flags =
            htole16((segs[i].writable ? VRING_DESC_F_WRITE : 0) |
                    (i + 1 < n ? VRING_DESC_F_NEXT : 0));
        r->desc[slot].next = htole16((uint16_t)(slot + 1));
    }
    r->avail->ring[r->next_avail % r->num] = htole16(head);
    r->next_avail++;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->avail->idx = htole16(r->next_avail);
}

static uint16_t used_idx(struct live_ring *lr)
{
    uint16_t v = __atomic_load_n(&lr->r.used->idx, __ATOMIC_ACQUIRE);

    return le16toh(v);
}

bool live_wait_used(struct live_ring *lr, uint16_t idx)
{
    int i;

    for (i = 0; i < 2000; i++) {
        if (used_idx(lr) == idx) {
            return true;
        }
        sleep_ms(1);
    }
    return false;
}

bool live_used_stays(struct live_ring *lr, uint16_t idx)
{
    sleep_ms(100);
    return used_idx(lr) == idx;
}

struct vring_used_elem live_used(struct live_ring *lr, uint16_t n)
{
    struct vring_used_elem e = lr->r.used->ring[n % lr->r.num];

    e.id = le32toh(e.id);
    e.len = le32toh(e.len);
    return e;
}
