// Settings that jemalloc reads when the process starts, from this symbol. `make release`
// links jemalloc; glibc's malloc (debug builds, the tests) ignores the symbol.
//
// thp:always asks for transparent huge pages for jemalloc's heaps. Without it, validating a
// 10,000-task spec faulted in about 8,000 4 KiB pages of fresh heap, a fifth of its CPU
// time in the kernel; with it, about half as many faults and ~10% less wall time
// (docs/scheduling.md). Where the kernel's THP setting is `never`, it changes nothing.
#include "allocator_settings.h"

const char *malloc_conf = "thp:always";
