/* Maildir delivery that survives a crash: tmp/, fsync, rename into new/,
 * fsync new/. The 250 is only sent after this returns 0. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "moxd.h"

static atomic_ulong seq;

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return -ENAMETOOLONG;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int moxd_maildir_create(const char *maildir)
{
    static const char *sub[] = {"tmp", "new", "cur"};
    int rc = mkdir_p(maildir);
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", maildir, sub[i]);
        rc = mkdir_p(p);
    }
    return rc;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int moxd_maildir_deliver(const char *maildir, const void *const *parts, const size_t *lens,
                         size_t nparts, char *name_out, size_t name_cap)
{
    char host[128];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    for (char *p = host; *p; p++)
        if (*p == '/' || *p == ':')
            *p = '_';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long n = atomic_fetch_add(&seq, 1) + 1;
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += lens[i];
    char name[300], tmp[4500], dst[4500], newdir[4300];
    /* time.M<usec>P<pid>Q<seq>.host,S=<size> (Maildir++ size hint) */
    snprintf(name, sizeof name, "%lld.M%06ldP%ldQ%lu.%s,S=%zu", (long long)ts.tv_sec,
             ts.tv_nsec / 1000, (long)getpid(), n, host, total);
    snprintf(tmp, sizeof tmp, "%s/tmp/%s", maildir, name);
    snprintf(dst, sizeof dst, "%s/new/%s", maildir, name);
    snprintf(newdir, sizeof newdir, "%s/new", maildir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (size_t i = 0; i < nparts && rc == 0; i++) {
        const char *p = parts[i];
        size_t left = lens[i];
        while (left > 0) {
            ssize_t w = write(fd, p, left);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                rc = -errno;
                break;
            }
            p += w;
            left -= (size_t)w;
        }
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    rc = fsync_dir(newdir);
    if (rc == 0 && name_out)
        snprintf(name_out, name_cap, "%s", name);
    return rc;
}

static uint64_t dir_usage(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        const char *s = strstr(e->d_name, ",S=");
        if (s) {
            total += strtoull(s + 3, NULL, 10);
            continue;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

uint64_t moxd_maildir_usage(const char *maildir)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/new", maildir);
    uint64_t t = dir_usage(p);
    snprintf(p, sizeof p, "%s/cur", maildir);
    return t + dir_usage(p);
}
