/* SPDX-License-Identifier: MIT
 * The source policy (dataplane/dp_source.c) rule by rule, on legs built by
 * hand: the signalled address first, the SIP source of a NATed peer,
 * nat_learning, continuity for a take-over, SRTP after silence, RTCP
 * following RTP, strict and asymmetric legs. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "dp_internal.h"

#define HZ 1000000000ull /* TSC ticks per second in these tests */

static struct dp_addr v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	struct dp_addr out;

	memset(&ss, 0, sizeof(ss));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	dp_addr_from_sa(&out, &ss);
	return out;
}

static struct dp_leg leg;

/* A plain leg signalled at sdp_ip:4000 (RTCP 4001). */
static void make(const char *sdp_ip)
{
	memset(&leg, 0, sizeof(leg));
	if (sdp_ip) {
		leg.remote_rtp = v4(sdp_ip, 4000);
		leg.remote_rtcp = v4(sdp_ip, 4001);
	}
}

static enum dp_src_verdict admit(const char *ip, uint16_t port, bool rtcp_port, bool rtcp, enum dp_drop *why)
{
	struct dp_addr src = v4(ip, port);
	enum dp_drop w;

	return dp_source_admit(&leg, &src, rtcp_port, rtcp, 10 * HZ, HZ, why ? why : &w);
}

static void latch_rtp(const char *ip, uint16_t port)
{
	leg.src_rtp = v4(ip, port);
	leg.latched_rtp = true;
}

static struct dp_rtp pkt(uint32_t ssrc, uint16_t seq, uint32_t ts)
{
	struct dp_rtp r = { .ssrc = ssrc, .seq = seq, .ts = ts };

	return r;
}

Test(source, signalled_address_latches_at_once_over_an_earlier_latch)
{
	make("192.0.2.10");
	cr_assert_eq(admit("192.0.2.10", 4000, false, false, NULL), DP_SRC_LATCH);
	latch_rtp("198.51.100.7", 5555);
	cr_assert_eq(admit("192.0.2.10", 4000, false, false, NULL), DP_SRC_LATCH, "signalling wins");
	cr_assert_eq(admit("198.51.100.7", 5555, false, false, NULL), DP_SRC_ACCEPT, "the latch is accepted");
}

Test(source, sdp_ip_on_another_port_is_refused_before_and_after_the_first_packet)
{
	enum dp_drop why = DP_DROP_NONE;

	make("192.0.2.10");
	cr_assert_eq(admit("192.0.2.10", 4002, false, false, &why), DP_SRC_REFUSE);
	cr_assert_eq(why, DP_DROP_SPOOFED_SOURCE);
	latch_rtp("192.0.2.10", 4000);
	cr_assert_eq(admit("192.0.2.10", 4002, false, false, &why), DP_SRC_REFUSE);
	cr_assert_eq(admit("203.0.113.9", 4000, false, false, &why), DP_SRC_REFUSE, "another IP too");
	cr_assert_eq(why, DP_DROP_SPOOFED_SOURCE);
}

Test(source, nothing_latches_a_leg_without_a_signalled_address)
{
	make(NULL);
	cr_assert_eq(admit("192.0.2.10", 4000, false, false, NULL), DP_SRC_REFUSE);
	leg.nat_learning = true;
	cr_assert_eq(admit("192.0.2.10", 4000, false, false, NULL), DP_SRC_LATCH, "nat_learning: any source");
}

Test(source, a_sip_source_that_differs_from_the_sdp_allows_any_port_of_that_ip)
{
	make("10.0.0.5"); /* a private SDP address */
	leg.sip_src = v4("198.51.100.7", 0);
	cr_assert_eq(admit("198.51.100.7", 61234, false, false, NULL), DP_SRC_LATCH);
	cr_assert_eq(admit("198.51.100.8", 61234, false, false, NULL), DP_SRC_REFUSE, "not the NAT's IP");
	/* the same IP as the SDP: the peer is not behind a NAT */
	make("198.51.100.7");
	leg.sip_src = v4("198.51.100.7", 0);
	cr_assert_eq(admit("198.51.100.7", 61234, false, false, NULL), DP_SRC_REFUSE);
}

Test(source, a_plain_takeover_needs_the_streams_continuity)
{
	struct dp_rtp last = pkt(0x1234, 100, 16000), r;
	uint64_t now = 10 * HZ;

	make("10.0.0.5");
	leg.sip_src = v4("198.51.100.7", 0);
	leg.clock_rate = 8000;
	latch_rtp("198.51.100.7", 5000);
	dp_source_note(&leg, &last, now - HZ / 50); /* 20 ms ago */
	cr_assert_eq(admit("198.51.100.7", 5002, false, false, NULL), DP_SRC_TAKEOVER);
	r = pkt(0x1234, 101, 16160);
	cr_assert(dp_source_continuous(&leg, &r, now, HZ), "the next packet");
	r = pkt(0x1234, 100 + DP_SRC_SEQ_WINDOW, 16160);
	cr_assert(dp_source_continuous(&leg, &r, now, HZ), "a few lost in between");
	r = pkt(0x4321, 101, 16160);
	cr_assert_not(dp_source_continuous(&leg, &r, now, HZ), "another SSRC");
	r = pkt(0x1234, 100, 16000);
	cr_assert_not(dp_source_continuous(&leg, &r, now, HZ), "the same sequence number (a replay)");
	r = pkt(0x1234, 99, 16000);
	cr_assert_not(dp_source_continuous(&leg, &r, now, HZ), "behind");
	r = pkt(0x1234, (uint16_t)(101 + DP_SRC_SEQ_WINDOW), 16160);
	cr_assert_not(dp_source_continuous(&leg, &r, now, HZ), "too far ahead");
	r = pkt(0x1234, 101, 16000 + 2 * 8000);
	cr_assert_not(dp_source_continuous(&leg, &r, now, HZ), "a timestamp 2 s ahead after 20 ms");
	r = pkt(0x1234, 101, 15000);
	cr_assert_not(dp_source_continuous(&leg, &r, now, HZ), "a timestamp behind");
	/* after 5 s of silence the timestamp may have moved on by 5 s (+1 s) */
	r = pkt(0x1234, 101, 16000 + 5 * 8000);
	cr_assert(dp_source_continuous(&leg, &r, now + 5 * HZ, HZ));
	r = pkt(0x1234, (uint16_t)(65535 + 3), 16160);
	last = pkt(0x1234, 65535, 16000);
	dp_source_note(&leg, &last, now);
	cr_assert(dp_source_continuous(&leg, &r, now, HZ), "across the sequence wrap");
}

Test(source, silence_alone_never_moves_a_plain_latch)
{
	make("192.0.2.10");
	latch_rtp("192.0.2.10", 4000);
	leg.last_valid_tsc = 0; /* silent for 10 s, far past relatch_ms */
	cr_assert_eq(admit("203.0.113.9", 4000, false, false, NULL), DP_SRC_REFUSE);
	leg.nat_learning = true;
	cr_assert_eq(admit("203.0.113.9", 4000, false, false, NULL), DP_SRC_TAKEOVER,
		     "even with nat_learning a take-over needs continuity");
}

Test(source, srtp_takeover_needs_silence_then_authentication)
{
	enum dp_drop why = DP_DROP_NONE;

	make("10.0.0.5");
	leg.sip_src = v4("198.51.100.7", 0);
	leg.srtp_rx = (struct dp_srtp *)&leg; /* any non-NULL context marks an SRTP leg */
	latch_rtp("198.51.100.7", 5000);
	leg.last_valid_tsc = 10 * HZ - HZ / 10; /* 100 ms ago */
	cr_assert_eq(admit("198.51.100.7", 5002, false, false, &why), DP_SRC_REFUSE);
	cr_assert_eq(why, DP_DROP_RELATCH_REFUSED);
	leg.last_valid_tsc = 0;
	cr_assert_eq(admit("198.51.100.7", 5002, false, false, NULL), DP_SRC_LATCH, "authentication decides");
	cr_assert_eq(admit("203.0.113.9", 5002, false, false, NULL), DP_SRC_REFUSE, "still only the NAT's IP");
}

Test(source, rtcp_follows_the_rtp_latch)
{
	make("192.0.2.10");
	/* before RTP latched: only the signalled RTCP address */
	cr_assert_eq(admit("203.0.113.9", 7777, true, true, NULL), DP_SRC_REFUSE, "a stranger's RTCP first");
	cr_assert_eq(admit("192.0.2.10", 4001, true, true, NULL), DP_SRC_LATCH);
	latch_rtp("192.0.2.10", 4000);
	cr_assert_eq(admit("192.0.2.10", 4003, true, true, NULL), DP_SRC_REFUSE, "not RTP port + 1");
	/* a NATed peer: RTP port + 1, or any port of the RTP latch's IP */
	make("10.0.0.5");
	leg.sip_src = v4("198.51.100.7", 0);
	cr_assert_eq(admit("198.51.100.7", 5001, true, true, NULL), DP_SRC_REFUSE, "RTP has not latched yet");
	latch_rtp("198.51.100.7", 5000);
	cr_assert_eq(admit("198.51.100.7", 5001, true, true, NULL), DP_SRC_LATCH);
	cr_assert_eq(admit("198.51.100.7", 6123, true, true, NULL), DP_SRC_LATCH);
	leg.src_rtcp = v4("198.51.100.7", 5001);
	leg.latched_rtcp = true;
	cr_assert_eq(admit("198.51.100.7", 5001, true, true, NULL), DP_SRC_ACCEPT);
	latch_rtp("198.51.100.99", 5000); /* RTP moved to another IP (signalling) */
	cr_assert_eq(admit("198.51.100.7", 5001, true, true, NULL), DP_SRC_REFUSE, "the old RTCP latch is off");
}

Test(source, rtcp_mux_never_moves_the_latch)
{
	make("10.0.0.5");
	leg.sip_src = v4("198.51.100.7", 0);
	cr_assert_eq(admit("198.51.100.7", 5000, false, true, NULL), DP_SRC_REFUSE, "RTCP before RTP");
	latch_rtp("198.51.100.7", 5000);
	cr_assert_eq(admit("198.51.100.7", 5000, false, true, NULL), DP_SRC_ACCEPT);
	cr_assert_eq(admit("198.51.100.7", 5002, false, true, NULL), DP_SRC_REFUSE);
}

Test(source, strict_and_asymmetric)
{
	make("192.0.2.10");
	leg.flags = DP_LEG_STRICT_SOURCE;
	leg.nat_learning = true;
	cr_assert_eq(admit("192.0.2.10", 4000, false, false, NULL), DP_SRC_ACCEPT);
	cr_assert_eq(admit("192.0.2.10", 4002, false, false, NULL), DP_SRC_REFUSE, "strict beats nat_learning");
	make("192.0.2.10");
	leg.flags = DP_LEG_ASYMMETRIC;
	cr_assert_eq(admit("192.0.2.10", 4002, false, false, NULL), DP_SRC_ACCEPT, "the signalled IP, any port");
	cr_assert_eq(admit("203.0.113.9", 4000, false, false, NULL), DP_SRC_REFUSE);
	cr_assert_eq(admit("192.0.2.10", 4000, false, false, NULL), DP_SRC_ACCEPT, "latches nothing");
}

/* dp_worker_exec warns when a worker has not answered for 1 s: a wait of a
 * few microseconds across a second boundary is not 1 s (it compared tv_sec
 * alone, and logged falsely). */
Test(worker_wait, elapsed_time_across_a_second_boundary)
{
	struct timespec t0 = { .tv_sec = 41, .tv_nsec = 999999000 }, t = { .tv_sec = 42, .tv_nsec = 2000 };

	cr_assert_eq(dp_elapsed_ns(&t0, &t), 3000u);
	t.tv_nsec = 999998999;
	cr_assert_lt(dp_elapsed_ns(&t0, &t), 1000000000u);
	t.tv_sec = 43;
	t.tv_nsec = 0;
	cr_assert_geq(dp_elapsed_ns(&t0, &t), 1000000000u);
}
