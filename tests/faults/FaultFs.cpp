// Write-failure injection for the fault tests (tests/tst_faults.cpp, scripts/fault-kill.sh): a
// small shared library that interposes the libc write family and the sync calls. A write to a file
// whose path (as /proc/self/fd names it) contains QS_FAULT_MATCH fails with QS_FAULT_ERRNO
// (ENOSPC or EIO) once QS_FAULT_AFTER bytes have gone to such files; with QS_FAULT_SYNC=1 the
// fsync/fdatasync of those files fails instead. Loaded two ways: LD_PRELOAD for a command-line run,
// or linked into a test executable (before libc), which then steers it with qs_fault_configure().
// Nothing else in the process is affected: writes to other paths go straight to libc.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

extern "C" {

namespace {

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
char g_match[4096];
int g_errno;
long long g_after;
int g_syncFails;
long long g_written;
long long g_failures;

__attribute__((constructor)) void configureFromEnvironment()
{
    const char* match = getenv("QS_FAULT_MATCH");
    if (!match || !*match)
        return;
    const char* err = getenv("QS_FAULT_ERRNO");
    const char* after = getenv("QS_FAULT_AFTER");
    const char* sync = getenv("QS_FAULT_SYNC");
    snprintf(g_match, sizeof g_match, "%s", match);
    g_errno = err && std::strcmp(err, "EIO") == 0 ? EIO : ENOSPC;
    g_after = after ? atoll(after) : 0;
    g_syncFails = sync && std::strcmp(sync, "1") == 0;
}

} // namespace

void qs_fault_configure(const char* match, int error, long long afterBytes, int syncFails);
void qs_fault_configure(const char* match, int error, long long afterBytes, int syncFails)
{
    pthread_mutex_lock(&g_lock);
    snprintf(g_match, sizeof g_match, "%s", match ? match : "");
    g_errno = error;
    g_after = afterBytes;
    g_syncFails = syncFails;
    g_written = 0;
    g_failures = 0;
    pthread_mutex_unlock(&g_lock);
}

long long qs_fault_failures();
long long qs_fault_failures()
{
    pthread_mutex_lock(&g_lock);
    const long long n = g_failures;
    pthread_mutex_unlock(&g_lock);
    return n;
}

namespace {

/// The path /proc/self/fd names for `fd` (empty when it names none).
bool pathOf(int fd, char (&path)[4096])
{
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, path, sizeof path - 1);
    path[n > 0 ? n : 0] = 0;
    return n > 0;
}

int matches(int fd)
{
    char path[4096];
    return g_match[0] && fd >= 0 && pathOf(fd, path) && std::strstr(path, g_match) != nullptr;
}

/// The first injected failure goes to stderr, so a test can tell that its fault was hit.
void announce(int fd, int error)
{
    char path[4096], line[4300];
    pathOf(fd, path);
    const int len = std::snprintf(line, sizeof line, "qs-faultfs: injected %s into %s\n",
                                  error == EIO ? "EIO" : "ENOSPC", path);
    if (len > 0 && ::syscall(SYS_write, 2, line, static_cast<size_t>(len)) < 0)
        return;
}

/// 0: let `count` bytes through; else the errno to fail with.
int decideWrite(int fd, size_t count)
{
    if (!matches(fd))
        return 0;
    pthread_mutex_lock(&g_lock);
    int fail = 0;
    if (!g_syncFails) {
        if (g_written + static_cast<long long>(count) > g_after) {
            fail = g_errno;
            if (g_failures++ == 0)
                announce(fd, fail);
        } else {
            g_written += static_cast<long long>(count);
        }
    }
    pthread_mutex_unlock(&g_lock);
    return fail;
}

int decideSync(int fd)
{
    if (!g_syncFails || !matches(fd))
        return 0;
    pthread_mutex_lock(&g_lock);
    if (g_failures++ == 0)
        announce(fd, g_errno);
    pthread_mutex_unlock(&g_lock);
    return g_errno;
}

} // namespace

#define REAL(name, type) static const auto real_##name = reinterpret_cast<type>(dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void* buf, size_t count)
{
    REAL(write, ssize_t(*)(int, const void*, size_t));
    const int e = decideWrite(fd, count);
    if (e) {
        errno = e;
        return -1;
    }
    return real_write(fd, buf, count);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset)
{
    REAL(pwrite64, ssize_t(*)(int, const void*, size_t, off_t));
    const int e = decideWrite(fd, count);
    if (e) {
        errno = e;
        return -1;
    }
    return real_pwrite64(fd, buf, count, offset);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset)
{
    return pwrite64(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt)
{
    REAL(writev, ssize_t(*)(int, const struct iovec*, int));
    size_t count = 0;
    for (int i = 0; i < iovcnt; ++i)
        count += iov[i].iov_len;
    const int e = decideWrite(fd, count);
    if (e) {
        errno = e;
        return -1;
    }
    return real_writev(fd, iov, iovcnt);
}

int fsync(int fd)
{
    REAL(fsync, int (*)(int));
    const int e = decideSync(fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync, int (*)(int));
    const int e = decideSync(fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_fdatasync(fd);
}

} // extern "C"
