#ifndef TRAINPLAT_FILE_TREE_H
#define TRAINPLAT_FILE_TREE_H

#include <stdint.h>

/// What a directory tree holds, counted like `du -sb`: apparent sizes of every entry
/// (directories and symbolic links included, links never followed, hard links once).
typedef struct {
    uint64_t bytes;
    uint64_t entries;
} tp_tree_usage_t;

/// Walks `path` without following symbolic links or crossing file systems. Returns 0, or
/// an errno value when the walk could not start; unreadable entries below are skipped.
int tp_tree_usage(const char *path, tp_tree_usage_t *usage);

#endif
