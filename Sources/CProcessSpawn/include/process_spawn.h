#ifndef TRAINPLAT_PROCESS_SPAWN_H
#define TRAINPLAT_PROCESS_SPAWN_H

#include <spawn.h>
#include <sys/types.h>

/// glibc's GNU extensions to posix_spawn, which Swift's Glibc module does not import.
int trainplat_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
short trainplat_spawn_setsid_flag(void);
/// Closes every descriptor from `lowest` up in the child (glibc >= 2.34).
int trainplat_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);
/// A descriptor that becomes readable when `pid` exits (Linux >= 5.3); -1 with errno set
/// otherwise. `syscall` is variadic, which Swift does not import.
int trainplat_pidfd_open(pid_t pid);

#endif
