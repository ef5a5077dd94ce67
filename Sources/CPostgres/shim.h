#ifndef SPICE_CPOSTGRES_SHIM_H
#define SPICE_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#include <spawn.h>

// glibc ≥ 2.34 declares this only under _GNU_SOURCE, which Swift's Glibc module does not define.
// EmbeddedPostgres uses it so the PostgreSQL server it starts inherits none of our file descriptors.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
#endif
