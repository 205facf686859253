#ifndef TRAINPLAT_PROCESS_SPAWN_H
#define TRAINPLAT_PROCESS_SPAWN_H

#include <spawn.h>

/// glibc's GNU extensions to posix_spawn, which Swift's Glibc module does not import.
int trainplat_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
short trainplat_spawn_setsid_flag(void);

#endif
