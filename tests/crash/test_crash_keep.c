/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash tests: a child process keeps (and now and then releases) buffers
 * the way a storage application does, acknowledging what it made durable
 * over a pipe; the parent kills it with SIGKILL at varying points, reopens
 * the pool and checks that everything acknowledged survived, nothing was
 * lost or doubled, and that reconciliation with the acknowledged set
 * restores exactly that set.
 *
 * The child's protocol is the one an application with its own index
 * follows:
 *  - keep: take, write, flush the data, keep, ... drain once per batch of
 *    16, *then* acknowledge the batch (write its names to the pipe);
 *  - release: first drop the names from the index (write them to the pipe
 *    as "unreferenced"), then release and drain. A buffer whose release was
 *    announced but not yet durable may come back kept after a crash; that
 *    is fine, reconciliation frees it.
 * Each message is one write() of less than PIPE_BUF bytes, so it reaches
 * the parent whole or not at all.
 *
 * A SIGKILL loses nothing that was stored to the mapping (the page cache
 * survives the process), so it cannot show a missing flush or drain. The
 * power-loss test does: through the persistence hook it keeps a shadow
 * image of the file holding only what was flushed and then drained, and
 * at many points opens a copy of that image as the "after power loss" pool.
 */
#include "../unit/pst_test_util.h"

#include <poll.h>
#include <signal.h>

#include "persist.h"
#include <sys/wait.h>
#include <time.h>

#define BUF 2176u
#define COUNT 65536u
#define BATCH 16

enum msg_type { MSG_OPENED = 1, MSG_KEPT = 2, MSG_UNREF = 3, MSG_ERROR = 4 };

struct msg {
	uint32_t type;
	uint32_t n;      /* names used; for MSG_ERROR: the error code */
	uint64_t names[BATCH]; /* for MSG_ERROR: names[0] is the line */
};

_Static_assert(sizeof(struct msg) <= PIPE_BUF, "message must be atomic");

static int
group_setup(void **state)
{
	(void)state;
	return tu_group_setup_common("crash");
}

static int
group_teardown(void **state)
{
	(void)state;
	return tu_group_teardown_common();
}

/* ---- the child -------------------------------------------------------------------- */

static void
child_send(int fd, const struct msg *m)
{
	const char *p = (const char *)m;
	size_t left = sizeof(*m);

	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		p += w;
		left -= (size_t)w;
	}
}

static void __attribute__((noreturn))
child_fail(int fd, int err, int line)
{
	struct msg m = { .type = MSG_ERROR, .n = (uint32_t)err };

	m.names[0] = (uint64_t)line;
	child_send(fd, &m);
	_exit(2);
}

#define CHILD_CHECK(cond, err)                                               \
	do {                                                                 \
		if (!(cond))                                                 \
			child_fail(wfd, (err), __LINE__);                    \
	} while (0)

static void __attribute__((noreturn))
child_main(const char *path, enum pst_persist_mode mode, int wfd)
{
	struct pst_pool_config cfg = { .path = path, .persist_mode = mode };
	struct pst_pool *p;
	uint32_t *fifo; /* acknowledged kept buffers, oldest first */
	size_t head = 0, len = 0;
	uint64_t batches = 0;
	struct msg m;
	int r;

	alarm(60);
	signal(SIGPIPE, SIG_DFL);
	fifo = malloc(COUNT * sizeof(*fifo));
	CHILD_CHECK(fifo != NULL, ENOMEM);
	p = pst_pool_open(&cfg);
	CHILD_CHECK(p != NULL, pst_errno);
	m = (struct msg){ .type = MSG_OPENED };
	child_send(wfd, &m);

	for (;;) {
		m = (struct msg){ .type = MSG_KEPT, .n = BATCH };
		for (int j = 0; j < BATCH; j++) {
			uint32_t idx;
			char *b;

			r = pst_pool_take(p, &idx);
			CHILD_CHECK(r == 0, -r);
			b = pst_pool_buf_addr(p, idx);
			CHILD_CHECK(b != NULL, pst_errno);
			tu_pattern_fill(b, idx, 0, BUF);
			r = pst_pool_flush(p, b, BUF);
			CHILD_CHECK(r == 0, -r);
			r = pst_pool_keep(p, idx);
			CHILD_CHECK(r == 0, -r);
			m.names[j] = pst_name_make(idx, 0, BUF);
		}
		r = pst_pool_drain(p);
		CHILD_CHECK(r == 0, -r);
		child_send(wfd, &m); /* acknowledged: durable */
		for (int j = 0; j < BATCH; j++)
			fifo[(head + len++) % COUNT] =
				pst_name_index(m.names[j]);
		batches++;

		/* Now and then (and always when the pool fills up) drop the
		 * oldest names from the index and release their buffers. */
		int rounds = (batches % 4 == 0) + (len > COUNT * 3 / 4) * 2;
		for (int k = 0; k < rounds && len >= BATCH; k++) {
			m = (struct msg){ .type = MSG_UNREF, .n = BATCH };
			for (int j = 0; j < BATCH; j++)
				m.names[j] = pst_name_make(
					fifo[(head + j) % COUNT], 0, BUF);
			child_send(wfd, &m); /* unreferenced first */
			for (int j = 0; j < BATCH; j++) {
				r = pst_pool_release(p, pst_name_index(m.names[j]));
				CHILD_CHECK(r == 0, -r);
			}
			head = (head + BATCH) % COUNT;
			len -= BATCH;
			r = pst_pool_drain(p);
			CHILD_CHECK(r == 0, -r);
		}
	}
}

/* ---- the parent ------------------------------------------------------------------- */

struct tracker {
	uint8_t *acked;   /* per buffer: 1 if acknowledged and referenced */
	uint64_t n_acked;
	uint64_t total_acks;
	uint64_t total_unrefs;
	int opened;
};

/* Read exactly one message; 1 on success, 0 on EOF (a partial message at
 * EOF is a protocol failure). */
static int
read_msg(int fd, struct msg *m)
{
	char *p = (char *)m;
	size_t got = 0;

	while (got < sizeof(*m)) {
		ssize_t r = read(fd, p + got, sizeof(*m) - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail_msg("read from child: %s", strerror(errno));
		}
		if (r == 0) {
			if (got != 0)
				fail_msg("torn message (%zu of %zu bytes)", got,
					 sizeof(*m));
			return 0;
		}
		got += (size_t)r;
	}
	return 1;
}

static void
apply_msg(struct tracker *t, const struct msg *m)
{
	switch (m->type) {
	case MSG_OPENED:
		t->opened = 1;
		break;
	case MSG_KEPT:
		assert_int_equal(m->n, BATCH);
		for (uint32_t j = 0; j < m->n; j++) {
			uint32_t idx = pst_name_index(m->names[j]);
			assert_true(idx < COUNT);
			if (t->acked[idx])
				fail_msg("buffer %u handed out while kept", idx);
			t->acked[idx] = 1;
			t->n_acked++;
		}
		t->total_acks += m->n;
		break;
	case MSG_UNREF:
		for (uint32_t j = 0; j < m->n; j++) {
			uint32_t idx = pst_name_index(m->names[j]);
			assert_true(idx < COUNT);
			if (!t->acked[idx])
				fail_msg("child unreferenced unacked %u", idx);
			t->acked[idx] = 0;
			t->n_acked--;
		}
		t->total_unrefs += m->n;
		break;
	case MSG_ERROR:
		fail_msg("child failed at line %llu: %d (%s)",
			 (unsigned long long)m->names[0], (int)m->n,
			 pst_strerror((int)m->n));
		break;
	default:
		fail_msg("bad message type %u", m->type);
	}
}

/* Check the reopened pool against the acknowledged set. */
static void
check_recovered(const char *path, struct tracker *t, int round)
{
	struct pst_pool *p;
	struct pst_pool_stats s;
	struct pst_pool_reconcile_report rep;
	uint8_t *map = malloc(COUNT);
	pst_name *names = malloc(COUNT * sizeof(*names));
	size_t nn = 0;

	assert_non_null(map);
	assert_non_null(names);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	tu_assert_verify(p);
	s = tu_stats(p);
	assert_int_equal(s.lent, 0);
	assert_int_equal(s.free + s.kept, COUNT);
	uint64_t kept_before = s.kept;
	assert_true(kept_before >= t->n_acked);

	/* Every acknowledged buffer is kept and holds its bytes. */
	tu_kept_map(p, map);
	uint64_t kept_in_map = 0;
	for (uint32_t i = 0; i < COUNT; i++) {
		kept_in_map += map[i];
		if (!t->acked[i])
			continue;
		if (!map[i])
			fail_msg("round %d: acknowledged buffer %u is not kept",
				 round, i);
		pst_name nm = pst_name_make(i, 0, BUF);
		const void *a = pst_pool_name_to_addr(p, nm);
		assert_non_null(a);
		size_t bad = tu_pattern_check(a, i, 0, BUF);
		if (bad != BUF)
			fail_msg("round %d: acknowledged buffer %u differs at "
				 "byte %zu", round, i, bad);
		names[nn++] = nm;
	}
	assert_int_equal(kept_in_map, kept_before);
	assert_int_equal(nn, t->n_acked);
	tu_assert_verify(p);

	memset(&rep, 0x55, sizeof(rep));
	tu_assert_rc(pst_pool_reconcile(p, names, nn, &rep), 0);
	assert_int_equal(rep.referenced, nn);
	assert_int_equal(rep.released, kept_before - nn);
	assert_int_equal(rep.newly_kept, 0);
	assert_int_equal(rep.kept, nn);
	s = tu_stats(p);
	assert_int_equal(s.kept, nn);
	assert_int_equal(s.free, COUNT - nn);
	tu_assert_verify(p);
	print_message("round %d: %llu acks, %llu unrefs, %llu referenced, "
		      "%llu kept after crash, %llu freed by reconcile\n",
		      round, (unsigned long long)t->total_acks,
		      (unsigned long long)t->total_unrefs,
		      (unsigned long long)nn, (unsigned long long)kept_before,
		      (unsigned long long)rep.released);
	tu_close(p);

	/* Reconciled state is durable. */
	p = tu_must_open(path, PST_PERSIST_MSYNC);
	tu_assert_verify(p);
	s = tu_stats(p);
	assert_int_equal(s.kept, nn);
	assert_int_equal(s.free, COUNT - nn);
	tu_kept_map(p, map);
	for (uint32_t i = 0; i < COUNT; i++)
		if (map[i] != t->acked[i])
			fail_msg("round %d: after reconcile and reopen buffer %u "
				 "is %s", round, i, map[i] ? "kept" : "free");
	for (size_t k = 0; k < nn; k++) {
		uint32_t i = pst_name_index(names[k]);
		assert_int_equal(tu_pattern_check(pst_pool_buf_addr(p, i), i, 0,
						  BUF), BUF);
	}
	tu_close(p);
	free(map);
	free(names);
}

struct round_plan {
	uint64_t acks;           /* kill after this many acknowledged names */
	unsigned int delay_us;   /* ... and this much longer */
	enum pst_persist_mode mode;
};

static const struct round_plan plans[] = {
	{ 0, 0, PST_PERSIST_FLUSH },         /* right after open */
	{ 16, 0, PST_PERSIST_FLUSH },
	{ 1000, 37, PST_PERSIST_MSYNC },
	{ 8000, 500, PST_PERSIST_FLUSH },
	{ 30000, 1300, PST_PERSIST_MSYNC },
	{ 100000, 0, PST_PERSIST_FLUSH },    /* past COUNT: buffers reused */
};

static void
run_round(int round, const struct round_plan *plan)
{
	char path[PATH_MAX];
	struct pst_pool *p;
	struct tracker t = { 0 };
	struct msg m;
	int fds[2], status;
	pid_t pid;

	alarm(120);
	t.acked = calloc(COUNT, 1);
	assert_non_null(t.acked);
	tu_path(path, sizeof(path), "crashkeep");
	p = tu_must_create(path, BUF, COUNT, PST_PERSIST_FLUSH);
	tu_close(p);

	assert_int_equal(pipe(fds), 0);
	/* A small pipe keeps the child close behind the parent, so the kill
	 * lands near the planned point (and sometimes in a blocked write). */
	(void)fcntl(fds[1], F_SETPIPE_SZ, 4096);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_main(path, plan->mode, fds[1]);
	}
	close(fds[1]);

	/* Until the planned number of acknowledgements. */
	int killed = 0;
	while (!killed) {
		if (!read_msg(fds[0], &m)) {
			waitpid(pid, &status, 0);
			close(fds[0]);
			fail_msg("round %d: child ended early (status 0x%x)",
				 round, status);
		}
		if (m.type == MSG_ERROR) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(fds[0]);
		}
		apply_msg(&t, &m);
		if (t.opened && round == 0 && t.total_acks == 0 &&
		    m.type == MSG_OPENED) {
			/* While the child holds it, nobody else may open it. */
			pst_errno = 0;
			assert_null(tu_open(path, PST_PERSIST_FLUSH));
			assert_int_equal(pst_errno, EBUSY);
		}
		if (t.opened && t.total_acks >= plan->acks) {
			if (plan->delay_us)
				usleep(plan->delay_us);
			kill(pid, SIGKILL);
			killed = 1;
		}
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		/* Died on its own: read its last words. */
		while (read_msg(fds[0], &m))
			apply_msg(&t, &m);
		close(fds[0]);
		fail_msg("round %d: child status 0x%x, expected SIGKILL", round,
			 status);
	}
	/* Messages written whole before the kill count. */
	while (read_msg(fds[0], &m))
		apply_msg(&t, &m);
	close(fds[0]);

	check_recovered(path, &t, round);
	unlink(path);
	free(t.acked);
	alarm(0);
}

static void
test_crash_keep(void **state)
{
	(void)state;
	for (size_t r = 0; r < sizeof(plans) / sizeof(plans[0]); r++)
		run_round((int)r, &plans[r]);
}

/* Killed in the middle of pst_pool_create(): the path holds either nothing
 * or a whole, valid, empty pool, and creating it again works. */
static void
test_crash_create(void **state)
{
	static const unsigned int delays_us[] = { 0, 50, 200, 500, 1000, 2000,
						  5000, 20000, 100000 };
	const uint64_t count = 65536;
	int complete = 0, absent = 0;

	(void)state;
	for (size_t r = 0; r < sizeof(delays_us) / sizeof(delays_us[0]); r++) {
		char path[PATH_MAX];
		struct pst_pool *p;
		int status;
		pid_t pid;

		alarm(120);
		tu_path(path, sizeof(path), "crashcreate");
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct pst_pool_config c = {
				.path = path, .buf_size = BUF,
				.buf_count = count,
				.persist_mode = PST_PERSIST_FLUSH };
			alarm(60);
			p = pst_pool_create(&c);
			if (p == NULL)
				_exit(2);
			pause(); /* hold it until killed */
			_exit(0);
		}
		if (delays_us[r])
			usleep(delays_us[r]);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) || (WIFEXITED(status) &&
						    WEXITSTATUS(status) == 0));

		if (tu_exists(path)) {
			complete++;
			p = tu_open(path, PST_PERSIST_FLUSH);
			if (p == NULL)
				fail_msg("round %zu: after a crash in create the "
					 "file at the path is refused: %d (%s) %s",
					 r, pst_errno, pst_strerror(pst_errno),
					 pst_errormsg());
			tu_assert_verify(p);
			struct pst_pool_stats s = tu_stats(p);
			assert_int_equal(s.free, count);
			assert_int_equal(s.kept, 0);
			assert_int_equal(tu_info(p).buf_count, count);
			tu_close(p);
		} else {
			absent++;
			/* Leftovers of the crashed create do not block a new one. */
			p = tu_create(path, BUF, count, PST_PERSIST_FLUSH);
			if (p == NULL)
				fail_msg("round %zu: create after a crashed create "
					 "failed: %d (%s) %s", r, pst_errno,
					 pst_strerror(pst_errno), pst_errormsg());
			tu_assert_verify(p);
			tu_close(p);
		}
		tu_rm_dir_contents(tu_dir);
		alarm(0);
	}
	print_message("create killed: %d times before the link, %d after\n",
		      absent, complete);
}

/* ---- simulated power loss ------------------------------------------------------ */

struct shadow {
	char *base;        /* the live mapping */
	size_t len;
	uint8_t *img;      /* what the medium holds */
	size_t (*pend)[2]; /* flushed, not yet drained: [lo, hi) offsets */
	size_t n_pend, cap_pend;
	size_t ignored;    /* flushes outside the live mapping */
};

static void
shadow_flush(void *ctx, const void *addr, size_t len)
{
	struct shadow *sh = ctx;
	const char *a = addr;
	size_t lo, hi;

	if (a < sh->base || a + len > sh->base + sh->len) {
		sh->ignored++;
		return;
	}
	lo = (size_t)(a - sh->base) & ~(size_t)63;
	hi = ((size_t)(a - sh->base) + len + 63) & ~(size_t)63;
	if (hi > sh->len)
		hi = sh->len;
	if (sh->n_pend == sh->cap_pend) {
		sh->cap_pend = sh->cap_pend ? sh->cap_pend * 2 : 1024;
		sh->pend = realloc(sh->pend, sh->cap_pend * sizeof(*sh->pend));
		if (sh->pend == NULL)
			abort();
	}
	sh->pend[sh->n_pend][0] = lo;
	sh->pend[sh->n_pend][1] = hi;
	sh->n_pend++;
}

/* A drain makes every flushed line durable, with its current content. */
static void
shadow_drain(void *ctx)
{
	struct shadow *sh = ctx;

	for (size_t i = 0; i < sh->n_pend; i++)
		memcpy(sh->img + sh->pend[i][0], sh->base + sh->pend[i][0],
		       sh->pend[i][1] - sh->pend[i][0]);
	sh->n_pend = 0;
}

#define PL_COUNT 4096u

struct pl_state {
	struct shadow sh;
	struct pst_persist_hook hook;
	/* the application's index: now, and as of the last drain */
	uint8_t in_index[PL_COUNT], in_durable[PL_COUNT];
	uint32_t gen[PL_COUNT], gen_durable[PL_COUNT];
	uint64_t step, crashes, crash_every;
	uint64_t checked_names;
};

/*
 * What the medium may hold when the power fails now:
 *  PL_DRAINED: only what was flushed and then drained (the guarantee);
 *  PL_DATA_LEAKED: that, plus every store to the buffer array (cache lines
 *    of packet data were evicted early, the state bytes were not);
 *  PL_ALL_LEAKED: every store so far (as after a SIGKILL).
 */
enum pl_image { PL_DRAINED, PL_DATA_LEAKED, PL_ALL_LEAKED };

static void pl_check_one(struct pl_state *st, enum pl_image what);

static void
pl_check_image(struct pl_state *st)
{
	pl_check_one(st, PL_DRAINED);
	pl_check_one(st, PL_DATA_LEAKED);
	pl_check_one(st, PL_ALL_LEAKED);
}

/* Power fails now: open a copy of the medium and check it. */
static void
pl_check_one(struct pl_state *st, enum pl_image what)
{
	const struct pst_pool_header *h = (const void *)st->sh.img;
	const uint8_t *img = st->sh.img;
	size_t data_from = what == PL_DATA_LEAKED ? h->bufs_offset
			   : what == PL_ALL_LEAKED ? 0 : st->sh.len;
	char cpath[PATH_MAX];
	struct pst_pool *p;
	struct pst_pool_stats s;
	struct pst_pool_reconcile_report rep;
	static pst_name names[PL_COUNT];
	size_t nn = 0;
	int fd;

	tu_path(cpath, sizeof(cpath), "powerloss-image");
	fd = open(cpath, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	tu_hw_begin((const uint8_t *)st->sh.base + h->bufs_offset, h->buf_size,
		    h->buf_count);
	for (size_t done = 0; done < st->sh.len;) {
		const uint8_t *src = done < data_from ? img + done
				     : (const uint8_t *)st->sh.base + done;
		size_t n = done < data_from ? data_from - done
					    : st->sh.len - done;
		ssize_t w = write(fd, src, n);
		assert_true(w > 0);
		done += (size_t)w;
	}
	tu_hw_end();
	close(fd);

	p = tu_open(cpath, PST_PERSIST_FLUSH);
	if (p == NULL)
		fail_msg("step %llu, image %d: the power-loss image is refused:"
			 " %s", (unsigned long long)st->step, what,
			 pst_errormsg());
	tu_assert_verify(p);
	s = tu_stats(p);
	assert_int_equal(s.free + s.kept, PL_COUNT);
	uint64_t kept_before = s.kept;
	for (uint32_t i = 0; i < PL_COUNT; i++) {
		if (!st->in_durable[i])
			continue;
		if (what != PL_ALL_LEAKED &&
		    tu_state_read(cpath, i) != PST_BUF_STATE_KEPT)
			fail_msg("step %llu, image %d: buffer %u, in the durable "
				 "index, is not kept after power loss",
				 (unsigned long long)st->step, what, i);
		const void *a = pst_pool_buf_addr(p, i);
		size_t bad = tu_pattern_check(a, i, st->gen_durable[i], BUF);
		if (bad != BUF)
			fail_msg("step %llu, image %d: buffer %u (generation %u) "
				 "differs at byte %zu after power loss",
				 (unsigned long long)st->step, what, i,
				 st->gen_durable[i], bad);
		names[nn++] = pst_name_make(i, 0, BUF);
	}
	tu_assert_rc(pst_pool_reconcile(p, names, nn, &rep), 0);
	/* A release whose state byte reached the medium before the index
	 * dropped the name is undone by adoption; nothing else adopts. */
	if (what != PL_ALL_LEAKED)
		assert_int_equal(rep.newly_kept, 0);
	assert_int_equal(rep.referenced, nn);
	assert_int_equal(rep.kept, nn);
	assert_int_equal(rep.released + nn, kept_before + rep.newly_kept);
	tu_close(p);
	unlink(cpath);
	if (what == PL_DRAINED) {
		st->crashes++;
		st->checked_names += nn;
	}
}

/* After every pool call: maybe the power fails here. */
static void
pl_step(struct pl_state *st)
{
	st->step++;
	if (st->step % st->crash_every == 0)
		pl_check_image(st);
}

static void
pl_drain(struct pl_state *st, struct pst_pool *p)
{
	tu_assert_rc(pst_pool_drain(p), 0);
	/* The index's own stores were flushed with the batch: durable now. */
	memcpy(st->in_durable, st->in_index, sizeof(st->in_index));
	memcpy(st->gen_durable, st->gen, sizeof(st->gen));
	pl_step(st);
}

static void
test_power_loss(void **state)
{
	static struct pl_state st;
	char path[PATH_MAX];
	struct pst_pool *p;
	uint32_t fifo[PL_COUNT];
	size_t head = 0, len = 0;

	(void)state;
	alarm(300);
	memset(&st, 0, sizeof(st));
	st.crash_every = 131; /* co-prime with the batch shapes below */
	tu_path(path, sizeof(path), "powerloss");
	p = tu_must_create(path, BUF, PL_COUNT, PST_PERSIST_FLUSH);
	tu_close(p);

	/* The medium starts as the closed file. */
	void *img;
	size_t img_len;
	assert_int_equal(tu_read_file(path, &img, &img_len), 0);
	st.sh.img = img;
	st.sh.len = img_len;

	p = tu_must_open(path, PST_PERSIST_FLUSH);
	struct pst_pool_info info = tu_info(p);
	assert_int_equal(info.file_size, img_len);
	st.sh.base = info.base;
	st.hook = (struct pst_persist_hook){ .on_flush = shadow_flush,
					     .on_drain = shadow_drain,
					     .ctx = &st.sh };
	pst_pool_set_persist_hook(p, &st.hook);

	for (int batch = 0; batch < 1200; batch++) {
		/* 1..16 keeps per batch */
		int nk = 1 + batch % 16;
		for (int j = 0; j < nk; j++) {
			uint32_t idx;
			int r = pst_pool_take(p, &idx);
			if (r == -ENOBUFS)
				break;
			tu_assert_rc(r, 0);
			pl_step(&st);
			char *b = pst_pool_buf_addr(p, idx);
			st.gen[idx]++;
			tu_pattern_fill(b, idx, st.gen[idx], BUF);
			tu_assert_rc(pst_pool_flush(p, b, BUF), 0);
			pl_step(&st);
			tu_assert_rc(pst_pool_keep(p, idx), 0);
			pl_step(&st);
			st.in_index[idx] = 1; /* index entry, flushed with it */
			fifo[(head + len++) % PL_COUNT] = idx;
		}
		/* Every third batch: drop names from the index and release
		 * them; the drain that makes this durable is the next
		 * batch's, and that batch takes (LIFO) buffers first. */
		if (batch % 3 == 2 || len > PL_COUNT * 3 / 4) {
			for (int j = 0; j < 8 && len > 0; j++) {
				uint32_t idx = fifo[head];
				head = (head + 1) % PL_COUNT;
				len--;
				st.in_index[idx] = 0;
				tu_assert_rc(pst_pool_release(p, idx), 0);
				pl_step(&st);
			}
			/* no drain here, on purpose */
			continue;
		}
		pl_drain(&st, p);
	}
	pl_drain(&st, p);
	pl_check_image(&st);

	/* Reconcile is durable on return. */
	pst_pool_set_persist_hook(p, NULL);
	tu_close(p);
	p = tu_must_open(path, PST_PERSIST_FLUSH);
	static pst_name names[PL_COUNT];
	size_t nn = 0;
	for (uint32_t i = 0; i < PL_COUNT; i++)
		if (st.in_index[i] && i % 2)
			names[nn++] = pst_name_make(i, 0, BUF);
	assert_int_equal(tu_read_file(path, &img, &img_len), 0);
	free(st.sh.img);
	st.sh.img = img;
	st.sh.n_pend = 0;
	info = tu_info(p);
	st.sh.base = info.base;
	pst_pool_set_persist_hook(p, &st.hook);
	tu_assert_rc(pst_pool_reconcile(p, names, nn, NULL), 0);
	memset(st.in_index, 0, sizeof(st.in_index));
	for (size_t k = 0; k < nn; k++)
		st.in_index[pst_name_index(names[k])] = 1;
	memcpy(st.in_durable, st.in_index, sizeof(st.in_index));
	pl_check_image(&st); /* power fails right after reconcile returned */
	for (uint32_t i = 0; i < PL_COUNT; i++)
		if (!st.in_index[i])
			assert_int_equal(((uint8_t *)st.sh.img)[
				((struct pst_pool_header *)st.sh.img)->state_offset + i],
				PST_BUF_STATE_FREE);
	pst_pool_set_persist_hook(p, NULL);
	assert_int_equal(st.sh.ignored, 0);
	print_message("power loss simulated at %llu points, %llu index entries "
		      "checked\n", (unsigned long long)st.crashes,
		      (unsigned long long)st.checked_names);
	tu_close(p);
	free(st.sh.img);
	free(st.sh.pend);
	alarm(0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tu_test_setup, tu_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_crash_keep),
		T(test_crash_create),
		T(test_power_loss),
	};
#undef T

	return cmocka_run_group_tests_name("crash", tests, group_setup,
					   group_teardown);
}
