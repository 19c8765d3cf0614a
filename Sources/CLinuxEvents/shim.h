// The Linux event and socket APIs the transport's event loops use, which Swift's Glibc module does not expose.
#ifndef HEALTHLEDGER_CLINUXEVENTS_SHIM_H
#define HEALTHLEDGER_CLINUXEVENTS_SHIM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
// accept4 is declared only under _GNU_SOURCE, which the Glibc module is built without.
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
// pipe2 likewise.
int pipe2(int pipefd[2], int flags);

// Shutdown signals (SIGTERM, SIGINT) reported through a pipe. The handler only calls write(2), which is
// async-signal-safe; the process reads the pipe at leisure, so a signal that arrives at any moment after
// installation is never lost (POSIX.1-2017 System Interfaces 2.4.3, the self-pipe pattern).
static int clinux_shutdown_signal_pipe = -1;

static inline void clinux_shutdown_signal_handler(int number) {
    int saved = errno;
    unsigned char byte = (unsigned char)number;
    (void)!write(clinux_shutdown_signal_pipe, &byte, 1);
    errno = saved;
}

// Routes SIGTERM and SIGINT to `write_end` (a non-blocking pipe's write end). Returns 0, or -1 with errno set.
static inline int clinux_install_shutdown_signals(int write_end) {
    clinux_shutdown_signal_pipe = write_end;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = clinux_shutdown_signal_handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGTERM, &action, NULL) != 0) return -1;
    return sigaction(SIGINT, &action, NULL);
}
#endif
