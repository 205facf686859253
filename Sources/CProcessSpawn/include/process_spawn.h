#ifndef TRAINPLAT_PROCESS_SPAWN_H
#define TRAINPLAT_PROCESS_SPAWN_H

#include <spawn.h>

/// glibc's GNU extensions to posix_spawn, which Swift's Glibc module does not import.
int trainplat_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
short trainplat_spawn_setsid_flag(void);
/// Closes every descriptor from `lowest` up in the child (glibc >= 2.34).
int trainplat_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

#endif
