#ifndef TRAINPLAT_ALLOCATOR_SETTINGS_H
#define TRAINPLAT_ALLOCATOR_SETTINGS_H

// jemalloc's start-up settings (see allocator_settings.c); nothing to call.
extern const char *malloc_conf;

#endif
