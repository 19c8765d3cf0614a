// The Linux event and socket APIs the transport's event loops use, which Swift's Glibc module does not expose.
#ifndef HEALTHLEDGER_CLINUXEVENTS_SHIM_H
#define HEALTHLEDGER_CLINUXEVENTS_SHIM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
// accept4 is declared only under _GNU_SOURCE, which the Glibc module is built without.
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
#endif
