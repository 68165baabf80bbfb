/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Poll a stack while a forked peer (the Linux side of a test) runs: the
 * peer's traffic is only answered while the stack polls. Header-only, for
 * the single-file net test programs.
 */
#ifndef PST_TEST_POLL_CHILD_H
#define PST_TEST_POLL_CHILD_H

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "netns.h"
#include "paste_stack.h"

/* Poll @stack until @pid exits (or @timeout seconds, then kill it);
 * returns its exit status, 128 if a signal ended it, -1 on time-out. */
static int
tb_poll_child(struct pst_stack *stack, pid_t pid, double timeout)
{
	double end = tb_now() + timeout;
	int status;

	while (tb_now() < end) {
		pst_stack_poll(stack);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

#endif /* PST_TEST_POLL_CHILD_H */
