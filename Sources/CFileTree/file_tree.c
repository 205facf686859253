#define _GNU_SOURCE
#include "file_tree.h"

#include <errno.h>
#include <fts.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Hard links are counted once, as du does: a sorted set of (device, inode) for files with
   more than one link. Most trees have none, so the set stays empty and costs nothing. */
typedef struct {
    dev_t device;
    ino_t inode;
} tp_inode_t;

static int tp_compare_inodes(const void *left, const void *right) {
    const tp_inode_t *a = left, *b = right;
    if (a->device != b->device) return a->device < b->device ? -1 : 1;
    if (a->inode != b->inode) return a->inode < b->inode ? -1 : 1;
    return 0;
}

static void tp_free_node(void *node) { free(node); }

/* Returns whether this inode was seen before (and remembers it otherwise). */
static int tp_seen_before(void **seen, const struct stat *status) {
    tp_inode_t *key = malloc(sizeof *key);
    if (key == NULL) return 0;
    key->device = status->st_dev;
    key->inode = status->st_ino;
    tp_inode_t **found = tsearch(key, seen, tp_compare_inodes);
    if (found != NULL && *found != key) {
        free(key);
        return 1;
    }
    return 0;
}

int tp_tree_usage(const char *path, tp_tree_usage_t *usage) {
    usage->bytes = 0;
    usage->entries = 0;
    char *roots[] = {(char *)path, NULL};
    FTS *walk = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
    if (walk == NULL) return errno;
    void *seen = NULL;
    FTSENT *entry;
    int result = 0;
    while ((entry = fts_read(walk)) != NULL) {
        switch (entry->fts_info) {
        case FTS_DP: /* a directory again, after its children */
        case FTS_DNR:
        case FTS_ERR:
        case FTS_NS:
            if (entry->fts_level == 0 && entry->fts_info != FTS_DP) result = entry->fts_errno ? entry->fts_errno : ENOENT;
            continue;
        default:
            break;
        }
        const struct stat *status = entry->fts_statp;
        if (!S_ISDIR(status->st_mode) && status->st_nlink > 1 && tp_seen_before(&seen, status)) continue;
        usage->bytes += (uint64_t)status->st_size;
        usage->entries += 1;
    }
    tdestroy(seen, tp_free_node);
    fts_close(walk);
    return result;
}
