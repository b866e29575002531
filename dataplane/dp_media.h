/* SPDX-License-Identifier: MIT
 * dp_media: calls, legs and their media ports, as the control plane drives
 * them (part of the dataplane's door, included by dp.h).
 *
 * A leg is one local media endpoint: an RTP port and an RTCP port (or one
 * port with rtcp-mux) on an interface. Two connected legs relay to each
 * other: what leg A receives leaves through leg B's port to B's remote, and
 * the other way round. All legs of a call live on one worker lcore (the
 * call's shard), which owns their packet-path state; the control plane
 * changes a leg only through commands on that worker's ring, applied
 * between bursts, so the packet path takes no lock. These calls run on the
 * control lcore. A change returns at once and takes effect from the
 * worker's next loop turn (before that turn's packets); the few functions
 * that wait for the worker say so (a blocking poll(2), never a spin).
 */
#ifndef DP_MEDIA_H
#define DP_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dp_pkt.h"
#include "dp_srtp.h"

#define DP_MAX_IFACES 8

enum dp_iface_type {
	DP_IFACE_UDP,    /* kernel UDP sockets bound to `address` (the default) */
	DP_IFACE_ETHDEV, /* a DPDK port: medius owns `address` on it (ARP, ICMP, NDP, UDP) */
};

struct dp_iface_conf {
	char name[32];       /* "default", "internal", "external", ... */
	char address[64];    /* local address media sockets bind to */
	char advertise[64];  /* address to announce (NAT); empty: address */
	uint16_t port_min, port_max; /* media port range; RTP even, RTCP odd */
	enum dp_iface_type type;
	/* DP_IFACE_ETHDEV only. device: an EAL device name ("0000:03:00.0",
	 * "net_null0") or vdev arguments ("net_af_packet0,iface=eth1"), probed
	 * when not present yet; interfaces naming the same device share the
	 * port (one address each). The port's own MAC is used. prefix_len: the
	 * on-link prefix of address (0: every destination is on-link);
	 * gateway: next hop for off-link destinations (empty: none). */
	char device[128];
	uint8_t prefix_len;
	char gateway[64];
	/* Any source may latch a plain leg, not only the signalled address or
	 * the SIP source (received-from) IP; continuity still guards re-latching.
	 * For peers behind NATs that send no usable received-from. */
	bool nat_learning;
};

#define DP_BUSY_POLL_US 20

struct dp_media_conf {
	struct dp_iface_conf ifaces[DP_MAX_IFACES];
	unsigned n_ifaces;
	uint32_t relatch_ms;   /* an SRTP leg may re-latch (authenticated) after this much silence */
	uint32_t mbufs;        /* mbufs per worker */
	uint32_t rtcp_interval_ms; /* RTCP medius sends on transcoded legs: at most this often */
	uint32_t transcode_workers; /* the last N workers take transcoded calls only; 0: every worker does both */
	uint32_t clock_ms;     /* the media clock's period: 20 or 10 (dp_clock.h) */
	uint32_t tick_slice_us; /* a tick yields to packets after this long (dp_clock.h); 0: never */
	char srtp_engine[16];  /* "auto", "ipsec-mb", "openssl", "libsrtp" (dp_srtp_engine_parse) */
	/* How workers wait for and move kernel-UDP packets: "uring" (io_uring:
	 * multishot receive into mbufs, every send of a loop turn submitted
	 * with one system call), "epoll" (epoll_wait, recvmmsg, sendmmsg per
	 * socket), "auto" (uring where io_uring initialises, else epoll). The
	 * environment variable MEDIUS_KERNEL_IO overrides it (tests). */
	char kernel_io[8];
	/* Adaptive busy polling: after a loop turn that received packets a
	 * worker keeps polling for up to this long (adapted to the gaps between
	 * packets: twice the last gap, 0 once gaps are longer) before it
	 * sleeps. 0: never. */
	uint32_t busy_poll_us;
};

/* Parse a kernel_io name ("auto", "uring", "epoll"): 0, or -EINVAL. */
int dp_kernel_io_parse(const char *s, int *out);

/* Fill c with one interface "default" on 127.0.0.1, ports 30000-39999,
 * re-latching after 3000 ms, 8191 mbufs per worker, RTCP every 5000 ms, a
 * 20 ms media clock whose ticks yield to packets every DP_CLOCK_SLICE_US,
 * the "auto" SRTP engine, kernel_io "auto", busy polling up to
 * DP_BUSY_POLL_US. */
void dp_media_conf_defaults(struct dp_media_conf *c);
/* Set up the media layer after EAL and before dp_workers_start: the SRTP
 * engine (-EINVAL for an unknown name, -ENOTSUP for one that does not run
 * here), mbuf pools, interfaces and port allocators. Returns 0 or -errno
 * (logged). */
int dp_media_start(const struct dp_media_conf *c);
/* Destroy every call and release the media layer (after dp_workers_stop). */
void dp_media_stop(void);

/* Leg options. */
enum {
	DP_LEG_RTCP_MUX = 1u << 0,      /* RTP and RTCP share the RTP port */
	DP_LEG_STRICT_SOURCE = 1u << 1, /* accept only the signalled remote, never re-latch */
	DP_LEG_ASYMMETRIC = 1u << 2,    /* never latch: always send to the signalled remote */
	DP_LEG_REWRITE = 1u << 3,       /* keep one outgoing SSRC, seq and ts across source changes */
};

struct dp_call;
struct dp_leg;

/* Calls and their placement.
 *
 * A call is a group of legs (and tickers, dp_clock.h) served by one worker
 * lcore. Calls are placed by shard: a shard is a set of calls that share a
 * worker, named by a shard key (the call id unless the caller gives
 * another: a conference room's name for the room's calls). A shard lives
 * on one worker, always: a new shard goes to the relaying worker its key
 * hashes to, a new call of an existing shard to the shard's worker
 * (wherever the shard has moved since), and a move takes the whole shard.
 * So everything that must run on one worker (a media graph's legs, a
 * room's participants) is put in one shard: created with one shard key,
 * or joined with dp_call_colocate.
 *
 * The transcoding rule: with transcoding workers (dp_media_conf.
 * transcode_workers > 0), a shard that holds a transcoding call
 * (dp_call_to_transcode_worker) lives on a transcoding worker, and never
 * moves off one. Its relayed calls relay from there (a relayed call
 * colocated with a transcoded one, or created in its shard, pays for
 * sharing that worker with codec work; a room's calls are all terminated
 * anyway). Without transcoding workers every worker does both and the
 * rule is void.
 *
 * Moves: the old worker lets go of every leg and ticker of the shard at its
 * next quiescent point; the control lcore waits for that (one loop turn of
 * that worker, blocked in poll(2), never a spin; with an ethdev leg in the
 * shard it waits for a grace period of every worker instead), then hands
 * them to the new worker: tickers all at once, legs with their ports,
 * sockets, SRTP contexts, latches, hooks, peers, statistics and RTCP state
 * unchanged. A kernel-UDP leg loses no packet and keeps their order (its
 * sockets queue meanwhile, and the new worker reads on from where the old
 * one stopped); an ethdev leg's flow entries are off during the move, so
 * what arrives then is dropped (no_flow). The tickers' next tick is the
 * new worker's (within one clock period). Everything here runs on the
 * control lcore only. */

/* A call in the shard of call_id: dp_call_create_in(call_id, NULL). */
struct dp_call *dp_call_create(const char *call_id);
/* A call in shard `shard_key` (NULL or "": the call id): on the shard's
 * worker when the shard has calls, else on the relaying worker (the first
 * workers, see dp_media_conf.transcode_workers) the key hashes to. NULL
 * when the media layer is not started or no worker lcore runs (errno
 * ENODEV), or no memory (errno ENOMEM). Does not wait. */
struct dp_call *dp_call_create_in(const char *call_id, const char *shard_key);
/* Destroy every leg of the call (as dp_leg_destroy) and the call; it
 * leaves its shard. Tickers still registered are removed as
 * dp_ticker_remove does (waiting). */
void dp_call_destroy(struct dp_call *c);
/* The worker lcore serving the call. */
unsigned dp_call_lcore(const struct dp_call *c);
/* How many calls share c's worker by placement (c's shard, c included). */
unsigned dp_call_shard_size(const struct dp_call *c);
/* Move c's shard (c and every call placed with it) to worker lcore
 * `lcore`, as described above; waits for the old worker. Returns 0 (also
 * when it is there already), -ENOENT (not a worker lcore), -EPERM (the
 * shard holds a transcoding call and lcore is not a transcoding worker)
 * or -errno, when the shard may be left half-moved (destroy its calls). */
int dp_call_move(struct dp_call *c, unsigned lcore);
/* Put call b on call a's worker: b leaves its shard (the other calls of
 * that shard stay where they are, and a peer b's legs had among them is
 * disconnected) and joins a's. When the pair needs a transcoding worker
 * (either shard transcodes, and there are transcoding workers) and a's
 * worker relays, a's shard moves first, to b's worker if that is a
 * transcoding worker, else to the one a's shard key hashes to. So the
 * transcoding rule holds and afterwards dp_call_lcore(a) ==
 * dp_call_lcore(b). Waits as dp_call_move does (for each move it makes:
 * none, one or two). Returns 0 or the error of a move; b may then still
 * be in its old shard. */
int dp_call_colocate(struct dp_call *b, struct dp_call *a);
/* The call needs transcoding: mark it so (for good) and, when there are
 * transcoding workers and its shard is on a relaying worker, move the
 * shard to the transcoding worker its shard key hashes to, so codec work
 * never delays relaying on the others. Nothing moves without such
 * workers, or when the shard is on one already. Returns 0 or -errno as
 * dp_call_move. */
int dp_call_to_transcode_worker(struct dp_call *c);
/* Worker i (0..), in placement order: its lcore, and whether it is a
 * transcoding worker. Returns 0 or -ENOENT past the last. */
int dp_media_worker(unsigned i, unsigned *lcore, bool *transcodes);

/* A leg with fresh local ports on the named interface (NULL: the first).
 * Returns NULL with *err = -ENOENT (no such interface), -EADDRINUSE (the
 * port range is exhausted), -ENOMEM or another -errno. */
struct dp_leg *dp_leg_create(struct dp_call *c, const char *iface, unsigned flags, int *err);
/* Close the leg's ports, unhook it from its peer, free it. Returns at once
 * (l must not be used again): the worker lets go at its next turn, and the
 * sockets, port pair, keys and memory are freed after that and a grace
 * period, by dp_workers_reclaim (dp.h: after later commands, and on
 * mediusd's 1 s timer). A leg with a media hook is the exception: it waits
 * for its worker, so that the hook's ctx may be freed once this returns
 * (clear the hook with dp_leg_set_hook_deferred first to destroy it without
 * waiting). */
void dp_leg_destroy(struct dp_leg *l);

struct dp_leg_local {
	char address[64];   /* to announce in SDP (the interface's advertise address) */
	uint16_t rtp_port, rtcp_port; /* equal with rtcp-mux */
	struct sockaddr_storage rtp;  /* the bound socket addresses */
};
void dp_leg_local(const struct dp_leg *l, struct dp_leg_local *out);

/* Where the leg's peer says it receives (from SDP). rtcp may be NULL:
 * rtp's address with port + 1 (or the same port with rtcp-mux). The
 * signalled address is always accepted as a source, and media goes there
 * until a packet the source policy accepts latches (docs/relay.md). An
 * address that differs from the current one drops the leg's latches. */
int dp_leg_set_remote(struct dp_leg *l, const struct sockaddr *rtp, const struct sockaddr *rtcp);
/* The IP the peer's signalling came from (ng received-from; the port is
 * ignored), or NULL for none. When it differs from the SDP's address the
 * peer is behind a NAT, and a plain leg may latch onto any port of that IP.
 * A different IP than before drops the leg's latches. Returns 0 or -errno. */
int dp_leg_set_sip_source(struct dp_leg *l, const struct sockaddr *ip);
/* Keys: rx decrypts what the peer sends us, tx encrypts what we send it.
 * NULL for plain RTP on that side. Returns 0, -ENOTSUP (suite unavailable),
 * -EINVAL: the keys are checked here, and the worker cannot refuse them.
 * The old contexts are destroyed once the worker let go of them and a
 * grace period passed (dp_workers_reclaim); this does not wait. */
int dp_leg_set_srtp(struct dp_leg *l, const struct dp_sdes *rx, const struct dp_sdes *tx);
/* Replace the leg's options. DP_LEG_RTCP_MUX may be turned on for a leg
 * created without it (RTCP then also uses the RTP port), but stays on for a
 * leg created with it (it has no RTCP port). */
int dp_leg_set_flags(struct dp_leg *l, unsigned flags);
/* RTP clock rate of the leg's media, for jitter in ms and DP_LEG_REWRITE. */
int dp_leg_set_clock(struct dp_leg *l, uint32_t clock_rate);
/* A terminated leg: medius is the RTP endpoint its peer talks to (the
 * media engine, mixer/, transcodes, mixes or plays out what it receives).
 * A media hook replaces plain forwarding for what the leg receives: each
 * valid RTP packet (authenticated and decrypted, source policy applied,
 * "block DTMF" applied) goes to fn, as a struct dp_rtp_frame (its header
 * fields and payload), on the worker lcore, which must not
 * block, lock, allocate or log, and must copy what it keeps: the payload is
 * valid only during the call. Nothing is forwarded to the peer leg. RTCP is
 * not forwarded across a hooked leg either: the dataplane reports to the
 * leg's peer itself (dp_media_conf.rtcp_interval_ms), an SR about what
 * dp_leg_send sent it and a report block about what it receives. */
struct dp_rtp_frame {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts, ssrc;
	const uint8_t *payload;
	uint16_t len;
	/* A hook's packet: its header extension block as received (RFC 8285
	 * elements: dp_rtp_ext_find), valid as the payload is; NULL (and 0)
	 * without one. Not sent by dp_leg_send. */
	const uint8_t *ext;
	uint16_t ext_len, ext_profile;
};
/* Write f's 12-byte RTP header (version 2, no padding, extension or CSRC). */
static inline void dp_rtp_frame_header(const struct dp_rtp_frame *f, uint8_t h[12])
{
	h[0] = 0x80;
	h[1] = (uint8_t)((f->marker ? 0x80 : 0) | (f->pt & 0x7f));
	dp_rtp_set_seq(h, f->seq);
	dp_rtp_set_ts(h, f->ts);
	dp_rtp_set_ssrc(h, f->ssrc);
}
/* fn(ctx, p, arrival_tsc): arrival_tsc is when p arrived, in rte_rdtsc()
 * units (the TSC is one clock on every lcore). On a kernel-UDP interface
 * it is the kernel's receive time of the datagram (SO_TIMESTAMPNS, which
 * the dataplane turns on for the RTP socket of a hooked leg only), mapped
 * from the real-time clock to the TSC by one clock_gettime + rte_rdtsc
 * pair per burst: packets that queued in the socket while the worker was
 * busy keep their real spacing, so a jitter buffer sees the network's
 * jitter, not the worker's. On an ethdev interface it is the TSC of the
 * rx burst that brought p. Either way it is never earlier than when the
 * worker took this hook (a packet that waited in the socket from before
 * counts as arriving then) nor later than when the worker read p, and the
 * leg's jitter statistics (dp_leg_stats, its RTCP report blocks) use the
 * same time. */
typedef void (*dp_media_hook_fn)(void *ctx, const struct dp_rtp_frame *p, uint64_t arrival_tsc);
/* Set (fn non-NULL) or clear the hook of leg l. Returns 0 or -errno. The
 * previous ctx is no longer used by the worker once this returns: for that
 * it waits for the worker to apply it (one loop turn). */
int dp_leg_set_hook(struct dp_leg *l, dp_media_hook_fn fn, void *ctx);
/* The same without waiting: returns at once (0 or -errno); the worker
 * takes the new hook (fn NULL: none) at its next loop turn, before that
 * turn's packets, and until then may still call the previous one. Once it
 * can no more (the worker applied this and every worker passed a quiescent
 * state), release(previous ctx) runs on the control lcore, from
 * dp_workers_reclaim (dp.h: after later commands, on mediusd's 1 s timer,
 * at the latest when the workers stop: so it may run from inside a later
 * dp_* call on the control lcore). release may be NULL; it is not called
 * when the leg had no hook before.
 *
 * Ordering: the commands for one call's worker (this, dp_ticker_add,
 * dp_ticker_remove_deferred, dp_leg_destroy, ...) apply in the order they
 * were posted, and deferred releases run in that order too, each after
 * its own command and everything posted before it applied. So a release
 * attached to the *last* of several deferred commands for one call also
 * covers the earlier ones: to tear down a graph whose ctx serves a hook and
 * a ticker of the same call without waiting, clear the hook with release
 * NULL, then dp_ticker_remove_deferred(ticker, free_ctx) (or the other way
 * round: remove the ticker with NULL, then clear the hook with free_ctx).
 * A release on the first of them would run while the other may still use
 * ctx. A leg whose hook was cleared this way is destroyed without waiting
 * (dp_leg_destroy). */
int dp_leg_set_hook_deferred(struct dp_leg *l, dp_media_hook_fn fn, void *ctx, void (*release)(void *ctx));

/* Recording copy (dp_rec.c): each RTP packet leg l accepts (source policy,
 * SRTP unprotect, parsing and "block DTMF" passed; counted in its
 * statistics) is also handed, whole and decrypted (header, extension and
 * payload as received), to fn(ctx, pkt, len, arrival_tsc) on the worker,
 * which must copy what it keeps into a ring and never block, lock,
 * allocate or log (recording/ gives a function that copies into a mixer/
 * tap and counts an overrun when it is full). Relayed and terminated legs
 * alike; the packet goes on as before (relayed, or to the media hook).
 * arrival_tsc as for a media hook. fn NULL: no copy. Control lcore;
 * waits for the worker (one loop turn): the previous ctx is no longer used
 * once this returns. Returns 0 or -errno. Clear it before dp_leg_destroy. */
typedef void (*dp_rec_fn)(void *ctx, const uint8_t *pkt, uint16_t len, uint64_t arrival_tsc);
int dp_leg_set_rec(struct dp_leg *l, dp_rec_fn fn, void *ctx);

/* Worker side, on the lcore that serves l's call (from a ticker or a media
 * hook of that call): send n RTP packets, with the header fields the
 * caller chose (its own SSRC, sequence and timestamp), out of leg l's RTP
 * port to l's peer (its latched or signalled address), encrypted with l's
 * tx key. Payloads are copied. The packets count as media medius generated
 * for l's peer: l's RTCP SR reports them. Returns how many were queued to
 * the port; the rest are counted as drops on l (no destination yet, no
 * mbuf, SRTP error, or the port refused). */
unsigned dp_leg_send(struct dp_leg *l, const struct dp_rtp_frame *pk, unsigned n);
/* The call leg l belongs to (for dp_ticker_add). */
struct dp_call *dp_leg_call(const struct dp_leg *l);

/* Consume, without forwarding, the RTP packets of payload type pt that the
 * leg receives (ng "block DTMF": pt is the telephone-event type); -1 stops
 * blocking. They are counted in dp_leg_stats.blocked. Returns 0 or -errno. */
int dp_leg_set_block_pt(struct dp_leg *l, int pt);
/* The same with a DTMF-security mode: replace is DP_DTMF_DROP (consume the
 * packets), an event 0-15 (forward them with that event instead: ng "zero"
 * and "DTMF"), or DP_DTMF_RANDOM (another digit, the same for every packet
 * of one event). Rewritten packets count in blocked too. */
enum { DP_DTMF_DROP = -1, DP_DTMF_RANDOM = 16 };
int dp_leg_set_dtmf_block(struct dp_leg *l, int pt, int replace);

/* Inject an RFC 4733 event (ng "play DTMF") into the RTP stream the leg
 * sends to its peer: payload type pt, event 0-15, duration in timestamp
 * units, volume 0-63 (-dBm0). The events ride on the forwarded media: each
 * packet the leg sends carries the event forward (its timestamp, the
 * stream's SSRC, sequence numbers shifted to make room), then three end
 * packets. Returns 0, -EINVAL, or -EBUSY while an event is still playing:
 * only the worker knows that, so this waits for it (one loop turn). */
int dp_leg_play_event(struct dp_leg *l, uint8_t pt, uint8_t event, uint32_t duration_ts, uint8_t volume);

/* Relay a <-> b. Either may be NULL to disconnect the other. */
int dp_leg_connect(struct dp_leg *a, struct dp_leg *b);

/* How far behind the newest sequence number a packet may arrive and
 * still count as received rather than lost (64 packets: 1.28 s at 20 ms). */
#define DP_REORDER_WINDOW 64

/* What the leg received (RTP stream stats per RFC 3550) and sent. */
struct dp_leg_stats {
	uint64_t rtp_packets, rtp_bytes, rtcp_packets;   /* accepted from the peer */
	uint64_t out_packets, out_bytes;                 /* sent to the peer */
	uint32_t ssrc;                 /* last source's SSRC */
	uint32_t expected, lost;       /* RFC 3550 A.3, for the current source */
	/* lost for good: sequence numbers still missing once DP_REORDER_WINDOW
	 * later ones have arrived. Unlike RFC 3550's `lost` (expected minus
	 * received, which counts a packet that is only late until it comes and
	 * then goes down again) it never goes down for a source, so counters
	 * (metrics, alerts) use it; the last DP_REORDER_WINDOW numbers of a
	 * stream are not in it yet. */
	uint32_t lost_final;
	uint32_t jitter_ts;            /* RFC 3550 A.8 interarrival jitter, ts units */
	double jitter_ms;              /* the same in ms (0 when no clock rate) */
	/* from the peer's RTCP receiver reports about what it receives */
	bool have_rr;
	uint8_t rr_fraction_lost;
	int32_t rr_cum_lost;
	uint32_t rr_jitter_ts;
	int32_t rtt_ms;                /* -1 when unknown */
	/* the last RTCP report from the peer, whole, for exporters that read
	 * snapshots (control's Homer export): rtcp_reports counts SR/RR packets
	 * seen, so a reader knows a new one came; sr_* from its last SR, rb
	 * its first report block (valid with have_rr) */
	uint64_t rtcp_reports;
	bool have_sr;
	uint32_t sr_ssrc, sr_packets, sr_octets, sr_rtp_ts;
	uint64_t sr_ntp;
	struct {
		uint32_t reporter, ssrc, ext_high_seq, lsr, dlsr;
	} rr;
	bool latched;
	struct sockaddr_storage source; /* the latched source (RTP) */
	struct sockaddr_storage remote; /* the signalled address (SDP) media goes to while not latched;
					 * family 0: none yet. An asymmetric leg never latches: it is
					 * always this */
	uint64_t drops[DP_DROP__COUNT];
	uint64_t hook_in;              /* packets handed to the media hook (terminated legs) */
	uint64_t hook_out;             /* packets dp_leg_send sent to the peer */
	uint64_t blocked;              /* packets of the blocked payload type consumed */
	uint64_t events_played;        /* RFC 4733 packets injected (ng play DTMF) */
	uint64_t rtcp_generated;       /* RTCP reports medius sent the peer itself (transcoded legs) */
};
int dp_leg_get_stats(const struct dp_leg *l, struct dp_leg_stats *out);

/* Per-lcore packet counters (every worker, summed when lcore < 0).
 * poll_ns, poll_busy_ns: a worker that busy-polls ethdev ports (others
 * count 0): the time of its loop turns, and of those that did work
 * (packets, epoll events, a media-clock tick), the rest being empty polls:
 * its load, which its CPU time (always a whole core) does not show. Turns
 * over 1 ms (the worker was preempted in them) are left out of both and
 * counted in poll_long_turns. */
struct dp_lcore_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t drops[DP_DROP__COUNT];
	uint64_t poll_ns, poll_busy_ns, poll_long_turns;
};
int dp_lcore_get_stats(int lcore, struct dp_lcore_stats *out);

/* Drops of the packets that reached a leg, summed over the workers by the
 * leg's interface (source-policy refusals among them). An ethdev interface
 * also names its DPDK port (device and driver, e.g. net_af_xdp0 and
 * net_af_xdp) and reports the port's own counters (rte_eth_stats: every
 * frame the port moved, ARP and ICMP included, and what it lost before
 * medius saw it). */
struct dp_iface_stats {
	char name[32];
	uint64_t drops[DP_DROP__COUNT];
	bool ethdev;                   /* the fields below are set */
	char device[64];               /* the ethdev's name */
	char driver[32];               /* its PMD */
	uint64_t port_rx_packets, port_tx_packets, port_rx_bytes, port_tx_bytes;
	uint64_t port_rx_missed;       /* dropped by the port: rx ring full (imissed) */
	uint64_t port_rx_errors, port_tx_errors, port_rx_nombuf;
};
unsigned dp_iface_count(void);
/* Interface i (0..dp_iface_count()-1). Returns 0 or -ENOENT. */
int dp_iface_get_stats(unsigned i, struct dp_iface_stats *out);
/* The address interface `name` (NULL or "": the first) announces in SDP,
 * or that of interface i, into out (64 bytes hold any). Returns 0 or
 * -ENOENT. */
int dp_iface_advertise(const char *name, char *out, size_t len);
int dp_iface_advertise_at(unsigned i, char *out, size_t len);

/* Do a and b hold the same IPv4 or IPv6 address (ports ignored)? False for
 * other families. */
bool dp_ip_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* Log, once per leg, the first source the policy refused on it (address
 * and reason; rate-limited). Control lcore, from a periodic timer. */
void dp_media_log_refusals(void);

#endif
