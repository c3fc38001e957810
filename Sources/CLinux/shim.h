/* Linux definitions Glibc's Swift module does not export: raw packet sockets and O_DIRECT. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>

static inline int vigil_o_direct(void) { return O_DIRECT; }
/* Sets a watchdog device's timeout in seconds (WDIOC_SETTIMEOUT); the driver writes back the timeout it set
   (it may round up). Returns the ioctl result. */
static inline int vigil_watchdog_set_timeout(int fd, int *seconds) { return ioctl(fd, WDIOC_SETTIMEOUT, seconds); }
/* Reads a watchdog device's timeout in seconds (WDIOC_GETTIMEOUT). Unlike WDIOC_SETTIMEOUT, it does not ping. */
static inline int vigil_watchdog_get_timeout(int fd, int *seconds) { return ioctl(fd, WDIOC_GETTIMEOUT, seconds); }
