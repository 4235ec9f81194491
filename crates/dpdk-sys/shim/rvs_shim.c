/* See rvs_shim.h. Compiled with pkg-config's libdpdk cflags by build.rs. */
#include <rte_config.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>

#include "rvs_shim.h"

uint16_t rvs_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
                          uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t rvs_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
                          uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *rvs_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }

int rvs_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void rvs_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

void *rvs_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }
uint16_t rvs_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t rvs_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
char *rvs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *rvs_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
char *rvs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
int rvs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
int rvs_pktmbuf_is_contiguous(const struct rte_mbuf *m) { return rte_pktmbuf_is_contiguous(m); }
void rvs_pktmbuf_reset(struct rte_mbuf *m) { rte_pktmbuf_reset(m); }

uint16_t rvs_mbuf_data_off(const struct rte_mbuf *m) { return m->data_off; }
void rvs_mbuf_set_data_off(struct rte_mbuf *m, uint16_t v) { m->data_off = v; }
uint16_t rvs_mbuf_data_len(const struct rte_mbuf *m) { return m->data_len; }
void rvs_mbuf_set_data_len(struct rte_mbuf *m, uint16_t v) { m->data_len = v; }
uint32_t rvs_mbuf_pkt_len(const struct rte_mbuf *m) { return m->pkt_len; }
void rvs_mbuf_set_pkt_len(struct rte_mbuf *m, uint32_t v) { m->pkt_len = v; }
uint16_t rvs_mbuf_buf_len(const struct rte_mbuf *m) { return m->buf_len; }
void *rvs_mbuf_buf_addr(const struct rte_mbuf *m) { return m->buf_addr; }
uint16_t rvs_mbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
uint16_t rvs_mbuf_port(const struct rte_mbuf *m) { return m->port; }
uint64_t rvs_mbuf_ol_flags(const struct rte_mbuf *m) { return m->ol_flags; }
uint32_t rvs_mbuf_rss_hash(const struct rte_mbuf *m) { return m->hash.rss; }

int rvs_errno(void) { return rte_errno; }
unsigned rvs_lcore_id(void) { return rte_lcore_id(); }
uint64_t rvs_get_tsc_cycles(void) { return rte_get_tsc_cycles(); }
void rvs_pause(void) { rte_pause(); }

unsigned rvs_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                unsigned *free_space)
{
	return rte_ring_enqueue_burst(r, objs, n, free_space);
}

unsigned rvs_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n,
                                unsigned *available)
{
	return rte_ring_dequeue_burst(r, objs, n, available);
}

unsigned rvs_ring_mp_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                   unsigned *free_space)
{
	return rte_ring_mp_enqueue_burst(r, objs, n, free_space);
}

unsigned rvs_ring_sp_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                   unsigned *free_space)
{
	return rte_ring_sp_enqueue_burst(r, objs, n, free_space);
}

unsigned rvs_ring_mc_dequeue_burst(struct rte_ring *r, void **objs, unsigned n,
                                   unsigned *available)
{
	return rte_ring_mc_dequeue_burst(r, objs, n, available);
}

unsigned rvs_ring_sc_dequeue_burst(struct rte_ring *r, void **objs, unsigned n,
                                   unsigned *available)
{
	return rte_ring_sc_dequeue_burst(r, objs, n, available);
}

unsigned rvs_ring_count(const struct rte_ring *r) { return rte_ring_count(r); }
unsigned rvs_ring_free_count(const struct rte_ring *r) { return rte_ring_free_count(r); }
