#define _GNU_SOURCE
#include "process_spawn.h"
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

int trainplat_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int trainplat_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

short trainplat_spawn_setsid_flag(void) {
    return POSIX_SPAWN_SETSID;
}

int trainplat_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}
