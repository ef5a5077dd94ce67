#ifndef SPICE_CLINUX_SHIM_H
#define SPICE_CLINUX_SHIM_H
// Linux-only calls Glibc's Swift overlay does not export: epoll, eventfd, accept4.
// (_GNU_SOURCE is not defined here: it would make this module's libc structs differ from Glibc's.)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

static inline int spice_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}
#endif
