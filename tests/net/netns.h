/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A two-namespace testbed for C tests: "<tag>p" holds the DPDK process on
 * one end of a veth pair (no kernel address), "<tag>l" holds Linux peers at
 * 198.18.0.2 on the other. The test process moves itself into the paste
 * namespace; peers are forked children that move into the Linux one and use
 * ordinary sockets. Everything is removed at exit.
 */
#ifndef PST_TEST_NETNS_H
#define PST_TEST_NETNS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#define TB_PASTE_IP "198.18.0.1"
#define TB_LINUX_IP "198.18.0.2"

struct testbed {
	char ns_paste[32], ns_linux[32];
	char if_paste[16], if_linux[16];
	int up;
};

static struct testbed *tb_current;

static int
tb_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -1;
}

static void
tb_down(void)
{
	struct testbed *tb = tb_current;

	if (tb == NULL || !tb->up)
		return;
	tb->up = 0;
	tb_sh("ip netns del %s 2>/dev/null", tb->ns_paste);
	tb_sh("ip netns del %s 2>/dev/null", tb->ns_linux);
}

static int
tb_setns(const char *ns)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = setns(fd, CLONE_NEWNET);
	close(fd);
	return ret;
}

/* Build the testbed and move this process into the paste namespace. */
static int
tb_up(struct testbed *tb, const char *tag)
{
	memset(tb, 0, sizeof(*tb));
	snprintf(tb->ns_paste, sizeof(tb->ns_paste), "%s%dp", tag, (int)getpid());
	snprintf(tb->ns_linux, sizeof(tb->ns_linux), "%s%dl", tag, (int)getpid());
	snprintf(tb->if_paste, sizeof(tb->if_paste), "v%dp", (int)getpid() % 1000000);
	snprintf(tb->if_linux, sizeof(tb->if_linux), "v%dl", (int)getpid() % 1000000);
	/* A run killed with SIGKILL could not remove its namespaces: remove
	 * those of this tag whose process is gone. */
	tb_sh("for ns in $(ip netns list | awk '{print $1}'); do case $ns in %s[0-9]*[pl]) "
	      "pid=${ns#%s}; pid=${pid%%?}; kill -0 $pid 2>/dev/null || ip netns del $ns;; "
	      "esac; done", tag, tag);
	tb_current = tb;
	atexit(tb_down);
	tb->up = 1;
	if (tb_sh("ip netns add %s && ip netns add %s", tb->ns_paste, tb->ns_linux) ||
	    tb_sh("ip link add %s type veth peer name %s", tb->if_paste, tb->if_linux) ||
	    tb_sh("ip link set %s netns %s && ip link set %s netns %s", tb->if_paste,
		  tb->ns_paste, tb->if_linux, tb->ns_linux) ||
	    tb_sh("nsenter --net=/run/netns/%s ip link set lo up && nsenter --net=/run/netns/%s ip link set %s up", tb->ns_linux,
		  tb->ns_linux, tb->if_linux) ||
	    tb_sh("nsenter --net=/run/netns/%s ip addr add " TB_LINUX_IP "/24 dev %s", tb->ns_linux, tb->if_linux) ||
	    tb_sh("nsenter --net=/run/netns/%s ip link set %s up", tb->ns_paste, tb->if_paste) ||
	    tb_sh("nsenter --net=/run/netns/%s sysctl -qw net.ipv6.conf.%s.disable_ipv6=1",
		  tb->ns_paste, tb->if_paste) ||
	    /* Whole frames with real checksums for af_packet. */
	    tb_sh("nsenter --net=/run/netns/%s ethtool -K %s tx off rx off tso off gso off gro off >/dev/null 2>&1",
		  tb->ns_paste, tb->if_paste) ||
	    tb_sh("nsenter --net=/run/netns/%s ethtool -K %s tx off rx off tso off gso off gro off >/dev/null 2>&1",
		  tb->ns_linux, tb->if_linux)) {
		fprintf(stderr, "testbed: setup failed (needs root, iproute2, ethtool)\n");
		return -1;
	}
	if (tb_setns(tb->ns_paste) != 0) {
		perror("testbed: setns");
		return -1;
	}
	return 0;
}

/* tb_up(), then DPDK's EAL in this process (no hugepages, no PCI) with
 * an af_packet port on the paste end of the veth: port 0. @prog names the
 * test in errors. */
static int
tb_eal_up(struct testbed *tb, const char *tag, const char *prog)
{
	char vdev[64];
	char *argv[] = {
		(char *)prog, "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		"--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:error", vdev, NULL,
	};

	if (tb_up(tb, tag) != 0)
		return -1;
	snprintf(vdev, sizeof(vdev), "--vdev=net_af_packet0,iface=%s,qpairs=1", tb->if_paste);
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "%s: EAL: %s\n", prog, rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* Run fn(arg) in a child inside the Linux namespace; returns its pid. */
static pid_t
tb_spawn_linux(const struct testbed *tb, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(60); /* a stuck peer never outlives its test */
		if (tb_setns(tb->ns_linux) != 0)
			_exit(90);
		_exit(fn(arg));
	}
	return pid;
}

static double
tb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* PST_TEST_NETNS_H */
