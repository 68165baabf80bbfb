/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pst_port_guard: the farewell of farewell.c for ports that a program polls
 * without a stack (paste_port.h).
 */
#include <errno.h>
#include <stdlib.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "error.h"
#include "farewell.h"
#include "paste_port.h"

struct pst_port_guard {
	struct pst_farewell fw;
};

struct pst_port_guard *
pst_port_guard_create(uint16_t port, uint16_t queue, struct rte_mempool *tx_mp,
		      const void *key, size_t key_len)
{
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	struct pst_port_guard *g = NULL;
	int ret;

	if (tx_mp == NULL || !rte_eth_dev_is_valid_port(port)) {
		pst_fail(EINVAL, "port guard: %s", tx_mp == NULL ? "no mempool" : "no such port");
		return NULL;
	}
	ret = rte_eth_dev_info_get(port, &info);
	if (ret == 0)
		ret = rte_eth_macaddr_get(port, &mac);
	if (ret != 0) {
		pst_fail(EINVAL, "port guard: port %u: %s", port, rte_strerror(-ret));
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		pst_fail(ENOMEM, "port guard: out of memory");
		return NULL;
	}
	pst_farewell_init(&g->fw, port, queue, tx_mp, &mac, info.driver_name);
	if (key != NULL || key_len != 0) {
		ret = pst_farewell_set_key(&g->fw, key, key_len);
		if (ret != 0) {
			pst_fail(-ret, "port guard: port %u: farewell key of %zu bytes: %s", port,
				 key_len, ret == -EINVAL ? "must be 16 to 64 bytes" :
				 "libsodium did not start");
			goto fail;
		}
	}
	return g;
fail:
	pst_farewell_fini(&g->fw);
	free(g);
	return NULL;
}

int
pst_port_guard_parked(struct pst_port_guard *g)
{
	if (g == NULL || (!g->fw.parked && !g->fw.refusing))
		return 0;
	return pst_farewell_parked(&g->fw);
}

uint16_t
pst_port_guard_rx(struct pst_port_guard *g, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i, kept = 0;

	if (g == NULL || !g->fw.enabled)
		return n;
	for (i = 0; i < n; i++)
		if (!pst_farewell_input(&g->fw, pkts[i]))
			pkts[kept++] = pkts[i];
	return kept;
}

int
pst_port_guard_leave(struct pst_port_guard *g)
{
	int ret;

	if (g == NULL)
		return 0;
	ret = pst_farewell_leave(&g->fw);
	return ret < 0 ? -ENOMEM : ret;
}

void
pst_port_guard_stats(const struct pst_port_guard *g, struct pst_port_guard_stats *st)
{
	st->parks = g != NULL ? g->fw.parks : 0;
	st->park_timeouts = g != NULL ? g->fw.park_timeouts : 0;
	st->refused = g != NULL ? g->fw.refused : 0;
}

void
pst_port_guard_destroy(struct pst_port_guard *g)
{
	if (g == NULL)
		return;
	pst_farewell_fini(&g->fw);
	free(g);
}
