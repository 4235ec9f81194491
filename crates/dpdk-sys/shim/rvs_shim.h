/* rvs shim: DPDK's `static inline` functions and macros, exported as real symbols so
 * that Rust can call them. Every function is a one-line forward; the names carry the
 * `rvs_` prefix so they can never clash with a DPDK symbol. */
#ifndef RVS_SHIM_H
#define RVS_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

/* ethdev fast path */
uint16_t rvs_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
                          uint16_t nb_pkts);
uint16_t rvs_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
                          uint16_t nb_pkts);

/* mbuf allocation */
struct rte_mbuf *rvs_pktmbuf_alloc(struct rte_mempool *mp);
int rvs_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count);
void rvs_pktmbuf_free(struct rte_mbuf *m);

/* mbuf data window */
void *rvs_pktmbuf_mtod(struct rte_mbuf *m);
uint16_t rvs_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t rvs_pktmbuf_tailroom(const struct rte_mbuf *m);
char *rvs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *rvs_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *rvs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int rvs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
int rvs_pktmbuf_is_contiguous(const struct rte_mbuf *m);
void rvs_pktmbuf_reset(struct rte_mbuf *m);

/* mbuf field accessors and setters */
uint16_t rvs_mbuf_data_off(const struct rte_mbuf *m);
void rvs_mbuf_set_data_off(struct rte_mbuf *m, uint16_t v);
uint16_t rvs_mbuf_data_len(const struct rte_mbuf *m);
void rvs_mbuf_set_data_len(struct rte_mbuf *m, uint16_t v);
uint32_t rvs_mbuf_pkt_len(const struct rte_mbuf *m);
void rvs_mbuf_set_pkt_len(struct rte_mbuf *m, uint32_t v);
uint16_t rvs_mbuf_buf_len(const struct rte_mbuf *m);
void *rvs_mbuf_buf_addr(const struct rte_mbuf *m);
uint16_t rvs_mbuf_nb_segs(const struct rte_mbuf *m);
uint16_t rvs_mbuf_port(const struct rte_mbuf *m);
uint64_t rvs_mbuf_ol_flags(const struct rte_mbuf *m);
uint32_t rvs_mbuf_rss_hash(const struct rte_mbuf *m);

/* per-lcore state and time */
int rvs_errno(void);
unsigned rvs_lcore_id(void);
uint64_t rvs_get_tsc_cycles(void);
void rvs_pause(void);

/* rings of pointers (the sync mode is the one chosen at rte_ring_create) */
unsigned rvs_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                unsigned *free_space);
unsigned rvs_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n,
                                unsigned *available);
unsigned rvs_ring_mp_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                   unsigned *free_space);
unsigned rvs_ring_sp_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                   unsigned *free_space);
unsigned rvs_ring_mc_dequeue_burst(struct rte_ring *r, void **objs, unsigned n,
                                   unsigned *available);
unsigned rvs_ring_sc_dequeue_burst(struct rte_ring *r, void **objs, unsigned n,
                                   unsigned *available);
unsigned rvs_ring_count(const struct rte_ring *r);
unsigned rvs_ring_free_count(const struct rte_ring *r);

#endif
