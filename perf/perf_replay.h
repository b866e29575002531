/* SPDX-License-Identifier: MIT
 * perf_replay.h: medius-replay's parts (private to perf/perf_replay*.c, the
 * fuzz targets and the tests). medius-replay replays captured SIP and
 * RTP/RTCP through mediusd: it rebuilds the calls, sets them up over ng as
 * a signalling server would, sends the captured media from its own
 * kernel UDP sockets (or a DPDK port), receives what medius relays and
 * reports on it (docs/replay.md).
 *
 *   capture (perf_replay_pcap.c)  libpcap: pcap/pcapng, link layers, IP, UDP
 *        │ UDP datagrams
 *        ▼
 *   model (perf_replay_sip.c, perf_replay_sdp.c, perf_replay_side.c)
 *        calls (ng operations in time order) and media packets, each
 *        assigned to a call, a party, a media section and a stream
 *        │
 *        ▼
 *   run (perf_replay_run.c)  ng client (perf_replay_ng.c), one sender and
 *        one receiver thread over a transport behind struct perf_tp_ops
 *        (perf_replay_udp.c: kernel UDP; perf_replay_dpdk.c: a DPDK
 *        ethdev port), K copies of each call
 *        │ per-copy stream state
 *        ▼
 *   report (perf_replay_report.c)  struct perf_report: totals, streams,
 *        a timeline; the summary table, JSON, the E-model
 *
 * The model and the report are plain structs so that the synthesiser (it
 * writes captures the model reads back), plots and `./medius bench compare`
 * can consume them.
 */
#ifndef PERF_REPLAY_H
#define PERF_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- addresses ---- */

struct perf_addr {
	uint8_t family; /* 4 or 6; 0 = unset */
	uint8_t ip[16];
	uint16_t port; /* host order */
};

bool perf_addr_eq(const struct perf_addr *a, const struct perf_addr *b);
/* "a.b.c.d:port" or "[v6]:port" */
char *perf_addr_str(const struct perf_addr *a, char *buf, size_t len);
/* parse "a.b.c.d:port" or "[v6]:port"; 0 or -1 */
int perf_addr_parse(const char *s, struct perf_addr *a);

/* ---- the capture reader (perf_replay_pcap.c) ---- */

struct perf_cap_pkt {
	uint64_t ts_ns;  /* capture time, ns since the epoch */
	uint64_t record; /* 1-based record number in the file */
	struct perf_addr src, dst;
	const uint8_t *data; /* UDP payload, valid until the next call */
	uint32_t len;
};

struct perf_cap_stats {
	uint64_t records;   /* records read */
	uint64_t udp;       /* UDP datagrams handed out */
	uint64_t cut;       /* records cut by the snaplen (caplen < len): skipped */
	uint64_t first_cut; /* record number of the first */
	uint64_t not_udp;   /* IP but not UDP, or not IP (ARP, ...) */
	uint64_t fragments; /* IP fragments: not reassembled, skipped */
	uint64_t malformed; /* headers that do not add up (bad IHL, lengths) */
	uint64_t first_malformed;
};

struct perf_cap;

/* Open a pcap or pcapng file (or a buffer: the fuzz target). On error
 * returns -1 with a message naming the file and the reason. */
int perf_cap_open(struct perf_cap **c, const char *path, char *err, size_t errlen);
int perf_cap_open_mem(struct perf_cap **c, const void *data, size_t len, char *err, size_t errlen);
/* The next UDP datagram: 1, 0 at the end, -1 on a read error (a truncated
 * record: the message names the record number). Records cut by the snaplen
 * are counted and skipped (stats.cut). */
int perf_cap_next(struct perf_cap *c, struct perf_cap_pkt *p, char *err, size_t errlen);
const struct perf_cap_stats *perf_cap_stats(const struct perf_cap *c);
int perf_cap_linktype(const struct perf_cap *c);
void perf_cap_close(struct perf_cap *c);

/* ---- SDP, as much as replay needs (perf_replay_sdp.c) ---- */

#define PERF_SDP_MAX_MEDIA 8
#define PERF_SDP_MAX_PT 24
#define PERF_SDP_MAX_CRYPTO 4

struct perf_sdp_pt {
	uint8_t pt;
	char name[24]; /* encoding name, "" when static and not in the table */
	uint32_t clock;
};

struct perf_sdp_media {
	char type[16];  /* audio, video, ... */
	char proto[24]; /* RTP/AVP, RTP/SAVP, ... */
	struct perf_addr addr; /* c= of the section or the session; port = m= port */
	struct perf_addr rtcp; /* a=rtcp, else port + 1 */
	bool rtcp_mux;
	int npt;
	struct perf_sdp_pt pts[PERF_SDP_MAX_PT];
	int ncrypto;
	char crypto[PERF_SDP_MAX_CRYPTO][128]; /* a=crypto values (SDES), kept for SRTP replay */
};

struct perf_sdp {
	int nmedia;
	struct perf_sdp_media m[PERF_SDP_MAX_MEDIA];
};

/* Parse an SDP body. -1 with a reason when it cannot be understood (no
 * v=0, a bad m= or c= line, an RTP section without an address, ...). */
int perf_sdp_parse(const char *p, size_t len, struct perf_sdp *s, char *err, size_t errlen);
/* Rewrite an SDP for the replayer: every c= and o= address becomes ip
 * (IPv4), section i's m= port becomes ports[i] (its RTCP is ports[i] + 1,
 * a=rtcp lines and ICE attributes are dropped). Returns the length written
 * (NUL-terminated) or -1 when out is too small. */
int perf_sdp_rewrite(const char *p, size_t len, const char *ip, const uint16_t *ports, int nports,
		     char *out, size_t outlen);
/* clock rate of a payload type in a section (rtpmap, else the static
 * table), 8000 when unknown */
uint32_t perf_sdp_clock(const struct perf_sdp_media *m, uint8_t pt);
const char *perf_sdp_pt_name(const struct perf_sdp_media *m, uint8_t pt);

/* ---- the model: calls and media (perf_replay_sip.c) ---- */

enum perf_op_kind { PERF_OP_OFFER, PERF_OP_ANSWER, PERF_OP_DELETE };

struct perf_op {
	uint64_t t_ns; /* capture time */
	enum perf_op_kind kind;
	uint8_t party; /* who sent it: 0 = the call's first offerer (A), 1 = B */
	uint64_t record;
	char *sdp; /* malloc'd, offer and answer only */
	size_t sdp_len;
};

#define PERF_CALL_ID_MAX 128
#define PERF_TAG_MAX 96

struct perf_call {
	char call_id[PERF_CALL_ID_MAX];
	char tag[2][PERF_TAG_MAX];
	struct perf_op *ops;
	int nops, cap_ops;
	struct perf_sdp sdp[2]; /* each party's latest SDP */
	int nmedia;             /* media sections (the most any SDP had) */
	bool ended;             /* BYE, CANCEL or a failure answer seen */
	bool answered;
	int pending_offer;      /* party with an offer outstanding, or -1 */
};

enum perf_pkt_kind { PERF_PKT_RTP, PERF_PKT_RTCP, PERF_PKT_OTHER };

/* a captured media datagram, assigned */
struct perf_pkt {
	uint64_t t_ns;
	uint64_t off; /* into model.data */
	uint32_t len;
	uint32_t call;
	uint8_t party, media, kind, rtcp_port; /* rtcp_port: sent to the RTCP port */
	uint32_t stream; /* RTP: index into model.streams, else UINT32_MAX */
	uint32_t index;  /* RTP: the packet's number within its stream */
};

/* an RTP stream of the capture: one SSRC sent by one party of a call */
struct perf_stream {
	uint32_t call;
	uint8_t party, media;
	uint32_t ssrc;
	uint32_t npkts;
	uint32_t *by_seq;  /* packet numbers sorted by (seq, number) */
	uint16_t *seq;     /* seq of each packet number */
	uint32_t *pkt;     /* model.pkts index of each packet number */
	uint8_t main_pt;   /* the most frequent payload type but telephone-event */
	char codec[24];
	uint32_t clock;
	uint32_t pt_count[128];
};

struct perf_model {
	struct perf_call *calls;
	uint32_t ncalls, cap_calls;
	struct perf_pkt *pkts;
	uint64_t npkts, cap_pkts;
	uint8_t *data;
	uint64_t data_len, data_cap;
	struct perf_stream *streams;
	uint32_t nstreams;
	uint64_t t_first, t_last; /* capture time of the first and last datagram */
	struct perf_cap_stats cap;
	uint64_t sip_msgs;      /* SIP messages seen */
	uint64_t unassigned;    /* media datagrams no call named */
	uint64_t unassigned_flows;
	char source[32];        /* "sip", "side file", "auto" */
};

struct perf_model_opts {
	bool skip_cut; /* snaplen-cut records: skip (else an error) */
	bool auto_calls; /* --auto: one call per flow pair when there is no SIP */
	const char *side_file;
};

/* Read a capture into a model. SIP in the capture gives the calls; without
 * SIP, the side file or --auto does. -1 with a message on error. */
int perf_model_load(struct perf_model *m, const char *capture, const struct perf_model_opts *o,
		    char *err, size_t errlen);
/* The same from an open capture (fuzz target: any input, no crash). */
int perf_model_from_cap(struct perf_model *m, struct perf_cap *c, const struct perf_model_opts *o,
			char *err, size_t errlen);
void perf_model_free(struct perf_model *m);

/* Grow *p (an array of elements of elem bytes, *cap of them) to hold at
 * least need, doubling; 0, or -1 on no memory (*p is left as it was). */
int perf_grow(void **p, uint64_t *cap, uint64_t need, size_t elem);

/* building blocks, shared by the side file and the SIP reader */
int perf_model_add_call(struct perf_model *m, const char *call_id, const char *tag_a,
			const char *tag_b);
int perf_call_add_op(struct perf_model *m, uint32_t call, enum perf_op_kind kind, uint8_t party,
		     uint64_t t_ns, uint64_t record, const char *sdp, size_t sdp_len, char *err,
		     size_t errlen);
/* Feed one UDP datagram that may be SIP: returns 1 when it was SIP (taken),
 * 0 when it is not SIP, -1 on an SDP that cannot be understood. */
int perf_sip_feed(struct perf_model *m, const struct perf_cap_pkt *p, char *err, size_t errlen);
/* The side file (JSON; docs/replay.md): calls and their SDPs. */
int perf_side_load(struct perf_model *m, const char *path, char *err, size_t errlen);
int perf_side_parse(struct perf_model *m, const char *text, size_t len, uint64_t t_ns, char *err,
		    size_t errlen);

/* ---- the E-model (perf_replay_report.c) ---- */

struct perf_emodel {
	double ie, bpl;   /* equipment impairment and packet-loss robustness */
	bool assumed;     /* the codec has no G.113 entry: G.711 values used */
};
/* G.113 Appendix I values for an encoding name (PCMU, PCMA, G729, ...) */
struct perf_emodel perf_emodel_codec(const char *codec);
/* R factor: loss in percent, burst ratio (1 = random), one-way delay ms */
double perf_emodel_r(const struct perf_emodel *c, double ppl, double burst_r, double delay_ms);
/* G.107 Annex B: R to MOS-CQE */
double perf_emodel_mos(double r);

/* ---- the report (perf_replay_report.c) ---- */

struct perf_lat {
	double p50_us, p95_us, p99_us, max_us, mean_us;
	uint64_t n;
};

struct perf_stream_report {
	char call_id[PERF_CALL_ID_MAX + 16]; /* the copy's call-id */
	uint32_t copy;
	uint8_t party, media; /* the sender */
	uint32_t ssrc;        /* as sent (rewritten per copy) */
	char codec[24];
	uint32_t clock;
	uint64_t sent, received, lost, duplicates, reordered, mismatched;
	uint64_t rtcp_sent, rtcp_received, rtcp_mismatched; /* RTCP of this sender's section */
	uint64_t pt_received[128];
	struct perf_lat lat;
	double jitter_ms;       /* RFC 3550 at the receiver (against RTP timestamps) */
	double added_jitter_ms; /* the same against send times: what medius adds */
	double burst_r;
	double r, mos;
	bool mos_valid, ie_assumed;
	uint32_t ssrc_out;    /* nonzero: medius re-originated the stream (transcoding) with this SSRC */
	uint16_t seq_off;     /* its sequence numbers minus the captured ones (mod 2^16) */
	bool srtp;            /* sent as SDES SRTP */
	uint32_t srtp_key_id; /* FNV-1a of this copy's key (perf_srtp_key_id) */
};

struct perf_report {
	/* totals */
	uint64_t calls, calls_set_up, calls_deleted, ng_requests, ng_errors;
	uint64_t sent, received, lost, duplicates, reordered, mismatched, unmatched;
	uint64_t rtp_sent, rtp_received, rtcp_sent, rtcp_received, other_sent, other_received;
	uint64_t send_errors;
	uint64_t skipped; /* media of a call not set up (yet, or refused) or deleted */
	/* the schedule moved later because ng replies made the sender late:
	 * total, the largest single move, how many moves */
	double shift_ms, shift_max_ms;
	uint64_t shifts;
	/* SRTP: captured packets that did not decrypt with their SDP's keys,
	 * received ones that did not decrypt, copies that could not be encrypted */
	uint64_t srtp_cap_errors, srtp_rx_errors, srtp_tx_errors;
	double duration_s;    /* first send to the end of the drain */
	double send_pps, recv_pps;
	struct perf_lat lat;
	double mos_min, mos_mean;
	bool verify;
	double speed; /* 0 = max */
	uint32_t multiply;
	/* per stream */
	struct perf_stream_report *streams;
	uint32_t nstreams;
	/* per 100 ms of the run: packets sent and received (for plots) */
	uint32_t nbins;
	uint32_t bin_ms;
	uint64_t *bin_sent, *bin_received;
	uint64_t *bin_rtp_sent, *bin_lost; /* RTP sent in the bin, and of those never received */
	/* the latency histogram: nlat_bins bins of lat_bin_us from 0, then lat_over above */
	uint32_t nlat_bins;
	double lat_bin_us;
	uint64_t *lat_hist, lat_over;
	/* from the capture */
	struct perf_cap_stats cap;
	uint64_t unassigned;
	char source[32];
	char capture[256];
};

void perf_report_free(struct perf_report *r);
/* Plots with gnuplot (perf_replay_plot.c): latency.{svg,png}, throughput.{svg,png},
 * loss.{svg,png} in dir, with their data (*.dat) and the script (plots.gp).
 * -1 with a message when dir cannot be written or gnuplot fails. */
int perf_report_plots(const struct perf_report *r, const char *dir, char *err, size_t errlen);
void perf_report_print(const struct perf_report *r, FILE *f);
int perf_report_json(const struct perf_report *r, const char *path, char *err, size_t errlen);

/* ---- transports (perf_replay_udp.c, perf_replay_dpdk.c) ----
 * The run engine only opens endpoints, sends from them, flushes and polls
 * them through these operations. */

struct perf_ep; /* one local RTP or RTCP endpoint of a call copy's party */

struct perf_rx {
	struct perf_ep *ep;
	const uint8_t *data;
	uint32_t len;
	uint64_t t_ns; /* receive time (the kernel's, CLOCK_REALTIME) */
};

struct perf_tp_ops {
	const char *name;
	/* create the transport; ip is the local address for endpoints, conf
	 * the transport's own options (struct perf_dpdk_conf; NULL for udp) */
	void *(*create)(const char *ip, uint32_t max_eps, const void *conf, char *err, size_t errlen);
	/* open an RTP/RTCP endpoint pair on consecutive ports (RTP even);
	 * *port gets the RTP port */
	int (*open_pair)(void *tp, struct perf_ep *rtp, struct perf_ep *rtcp, uint16_t *port,
			 char *err, size_t errlen);
	/* send one datagram from ep to dst; *t_ns gets the send time */
	int (*send)(void *tp, struct perf_ep *ep, const struct perf_addr *dst, const void *p,
		    uint32_t len, uint64_t *t_ns);
	/* hand what send() queued to the wire (a transport that sends in
	 * bursts; NULL when every send goes out at once): the run calls it
	 * before it sleeps or waits for ng, and at the end */
	void (*flush)(void *tp);
	/* receive what is there (waiting up to timeout_ms): cb per datagram;
	 * returns the number received or -1 */
	int (*poll)(void *tp, int timeout_ms, void (*cb)(void *arg, const struct perf_rx *rx),
		    void *arg);
	void (*close_pair)(void *tp, struct perf_ep *rtp, struct perf_ep *rtcp);
	void (*destroy)(void *tp);
};

extern const struct perf_tp_ops perf_tp_udp;
/* DPDK (perf_replay_dpdk.c): one ethdev port, EAL started by create */
extern const struct perf_tp_ops perf_tp_dpdk;

struct perf_dpdk_conf {
	const char *device;   /* af_packet:IFACE, af_xdp:IFACE or a vdev string (net_...) */
	const char *eal_args; /* more EAL arguments, space separated */
	uint32_t memory_mb;   /* EAL -m (256) */
	uint16_t port_min, port_max; /* the endpoints' UDP ports (10000-65535) */
	bool have_mac, have_peer_mac;
	uint8_t mac[6];       /* our MAC (default: the port's) */
	uint8_t peer_mac[6], peer_ip[4]; /* medius's, instead of ARP */
	bool verbose;         /* EAL's log and the transport's counters on stderr */
};
/* "aa:bb:cc:dd:ee:ff": 0 or -1 */
int perf_mac_parse(const char *s, uint8_t mac[6]);
/* the EAL --vdev for a --dpdk-port value: 0 or -1 */
int perf_dpdk_vdev(const char *dev, char *out, size_t len);

/* the endpoint: transports keep their handle in it, the run its owner */
struct perf_ep {
	int fd;           /* kernel UDP: the socket; DPDK: the UDP port */
	uint32_t copy_call; /* index of the call copy */
	uint8_t party, media, rtcp;
};

/* ---- the ng client (perf_replay_ng.c): bencode over UDP ---- */

struct ctl_val;
struct perf_ng;

int perf_ng_open(struct perf_ng **ng, const char *hostport, char *err, size_t errlen);
/* a fresh request dict (the arena is reset: earlier trees die) */
struct ctl_val *perf_ng_request(struct perf_ng *ng, const char *command);
int perf_ng_add_str(struct perf_ng *ng, struct ctl_val *d, const char *key, const char *v, size_t n);
/* send and wait for the reply (retransmitting with the same cookie: 3
 * tries, 1 s apart); *reply is the decoded dict. -1: no reply or not
 * decodable (err says which); 0 with result "ok"; 1 with another result
 * (err holds the reason) */
int perf_ng_call(struct perf_ng *ng, struct ctl_val *req, const struct ctl_val **reply, char *err,
		 size_t errlen);
/* a string member of the reply as a NUL-terminated copy; NULL when absent */
const char *perf_ng_str(struct perf_ng *ng, const struct ctl_val *d, const char *key);
void perf_ng_close(struct perf_ng *ng);
/* the members of a JSON object added to a request dict (--offer-json) */
int perf_ng_merge_json(struct perf_ng *ng, struct ctl_val *d, const char *json, char *err, size_t errlen);

/* ---- SDES SRTP (perf_replay_srtp.c, libsrtp2) ---- */

struct perf_srtp_key {
	unsigned tag;      /* the a=crypto tag */
	unsigned tag_bits; /* 80 or 32: AES_CM_128_HMAC_SHA1_80 / _32 */
	uint8_t key[30];   /* master key (16) and salt (14) */
	uint32_t b64_off;  /* where the inline key starts in the attribute */
};

/* an a=crypto value ("1 AES_CM_128_HMAC_SHA1_80 inline:KEY[|lifetime]");
 * -1 for another suite, an MKI or a bad key */
int perf_srtp_parse(const char *attr, struct perf_srtp_key *k);
void perf_srtp_b64(const uint8_t key[30], char out[41]);
/* copy k's key: the capture's xor'ed with a per-copy stream (copy 0 keeps it) */
void perf_srtp_derive(const struct perf_srtp_key *in, uint32_t copy, struct perf_srtp_key *out);
uint32_t perf_srtp_key_id(const struct perf_srtp_key *k); /* FNV-1a of the key: names it in reports */
/* every a=crypto key of an SDP replaced by copy's derived key, in place;
 * returns how many */
int perf_sdp_rekey(char *sdp, size_t len, uint32_t copy);
int perf_srtp_init(void);
void *perf_srtp_session(const struct perf_srtp_key *k, bool outbound); /* srtp_t, NULL on failure */
void perf_srtp_free(void *s);
int perf_srtp_protect(void *s, uint8_t *p, int *len, bool rtcp);   /* room for the trailer: 148 bytes */
int perf_srtp_unprotect(void *s, uint8_t *p, int *len, bool rtcp);

/* ---- the synthesiser (perf_replay_synth.c): `medius-replay synth` ---- */

int perf_synth_main(int argc, char **argv);

/* ---- the run (perf_replay_run.c) ---- */

struct perf_run_opts {
	const char *ng;        /* HOST:PORT of mediusd's ng UDP socket */
	double speed;          /* 1 = the capture's timing, N = N times faster, 0 = as fast as possible */
	uint32_t multiply;     /* copies of each call */
	uint32_t spread_us;    /* copy k starts k * spread_us / multiply later */
	uint32_t drain_ms;     /* wait after the last packet */
	uint32_t delete_grace_ms; /* a BYE's delete waits this long after it is due */
	uint32_t ng_settle_us;  /* after an offer's or answer's reply, send nothing for this long */
	bool verify;           /* compare payloads byte for byte */
	bool progress;         /* live line on stderr */
	const char *ip;        /* local address of the replayer's endpoints */
	const struct perf_tp_ops *tp;
	const void *tp_conf;   /* the transport's options (struct perf_dpdk_conf) */
	const char *ng_flags;  /* extra ng flags (comma-separated), e.g. for SRTP later */
	const char *offer_json, *answer_json; /* members added to every offer / answer */
	const struct perf_model *reference; /* --reference: the plaintext twin of an SRTP capture */
};

int perf_run(const struct perf_model *m, const struct perf_run_opts *o, struct perf_report *r,
	     char *err, size_t errlen);

#endif
