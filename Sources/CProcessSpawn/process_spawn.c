#define _GNU_SOURCE
#include "process_spawn.h"

int trainplat_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int trainplat_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

short trainplat_spawn_setsid_flag(void) {
    return POSIX_SPAWN_SETSID;
}
