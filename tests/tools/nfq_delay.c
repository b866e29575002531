/* nfq_delay: a network delay for the tests, in the kernel's path, where the
 * kernel has no sch_netem (tests/integration/test_netem.py).
 *
 * A netfilter rule (nft `queue num N`, or iptables `-j NFQUEUE --queue-num
 * N`) hands each packet to queue N; this tool holds it for a delay drawn
 * from the chosen distribution and gives the ACCEPT verdict when the delay
 * is up, so the kernel sends it on from where it stopped. Verdicts given in
 * the order the packets are due, not the order they came, reorder them the
 * way netem's time-ordered queue does.
 *
 *   nfq_delay --queue N --normal MEAN_MS SD_MS [--seed S]
 *       delay ~ N(MEAN, SD), below 0 taken as 0 (netem's `delay MEAN SD
 *       distribution normal`)
 *   nfq_delay --queue N --reorder PCT DELAY_MS [--seed S]
 *       PCT % of the packets go at once, the others DELAY_MS later (netem's
 *       `delay DELAY_MS reorder PCT%`)
 *
 * Prints "ready" once bound to the queue. On SIGTERM or SIGINT it lets
 * every packet it still holds go at once (a queue whose reader leaves drops
 * what it holds) and prints one JSON line: packets (held and released),
 * reordered (released after a packet that came later), max_held, mean and
 * max delay given (ms) and late_max_ms (how far past its due time a verdict
 * went: this tool's own scheduling).
 *
 * Needs libnetfilter_queue and CAP_NET_ADMIN in the namespace it runs in. */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HELD_MAX 8192

struct held {
	uint64_t due_ns;
	uint64_t order; /* arrival order: ties go out as they came */
	uint32_t id;
};

static struct held heap[HELD_MAX];
static unsigned n_heap;
static volatile sig_atomic_t stop;

static enum { D_NORMAL, D_REORDER } dist;
static double p_a, p_b; /* normal: mean, sd; reorder: share at once (0-1), delay */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static struct {
	uint64_t packets, reordered, order, last_order, max_held, overflow;
	double delay_sum, delay_max, late_max;
} st;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static double uniform(void) /* (0, 1), splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double draw_ms(void)
{
	if (dist == D_REORDER)
		return uniform() < p_a ? 0.0 : p_b;
	/* Box-Muller */
	double v = p_a + p_b * sqrt(-2.0 * log(uniform())) * cos(2.0 * M_PI * uniform());

	return v > 0 ? v : 0;
}

static int before(const struct held *x, const struct held *y)
{
	return x->due_ns < y->due_ns || (x->due_ns == y->due_ns && x->order < y->order);
}

static void push(struct held h)
{
	unsigned i = n_heap++;

	while (i && before(&h, &heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = h;
}

static struct held pop(void)
{
	struct held top = heap[0], last = heap[--n_heap];
	unsigned i = 0;

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= n_heap)
			break;
		if (c + 1 < n_heap && before(&heap[c + 1], &heap[c]))
			c++;
		if (!before(&heap[c], &last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (n_heap)
		heap[i] = last;
	return top;
}

static void release(struct nfq_q_handle *qh, const struct held *h, uint64_t now)
{
	double late = now > h->due_ns ? (double)(now - h->due_ns) / 1e6 : 0;

	if (h->order < st.last_order)
		st.reordered++;
	else
		st.last_order = h->order;
	if (late > st.late_max && !stop)
		st.late_max = late;
	nfq_set_verdict(qh, h->id, NF_ACCEPT, 0, NULL);
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint64_t now = now_ns();
	double d;
	struct held h;

	(void)msg;
	(void)data;
	if (!ph)
		return 0;
	h.id = ntohl(ph->packet_id);
	h.order = ++st.order;
	st.packets++;
	if (n_heap == HELD_MAX) { /* cannot happen at the tests' rates: counted, let go */
		st.overflow++;
		return nfq_set_verdict(qh, h.id, NF_ACCEPT, 0, NULL);
	}
	d = draw_ms();
	st.delay_sum += d;
	if (d > st.delay_max)
		st.delay_max = d;
	h.due_ns = now + (uint64_t)(d * 1e6);
	push(h);
	if (n_heap > st.max_held)
		st.max_held = n_heap;
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: nfq_delay --queue N (--normal MEAN_MS SD_MS | --reorder PCT DELAY_MS) [--seed S]\n");
	return 2;
}

int main(int argc, char **argv)
{
	int queue = -1, have = 0;
	static char buf[65536] __attribute__((aligned));

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--queue") && i + 1 < argc) {
			queue = atoi(argv[++i]);
		} else if ((!strcmp(argv[i], "--normal") || !strcmp(argv[i], "--reorder")) && i + 2 < argc) {
			dist = argv[i][2] == 'n' ? D_NORMAL : D_REORDER;
			p_a = atof(argv[i + 1]);
			p_b = atof(argv[i + 2]);
			if (dist == D_REORDER)
				p_a /= 100.0;
			i += 2;
			have = 1;
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			rng = strtoull(argv[++i], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
		} else {
			return usage();
		}
	}
	if (queue < 0 || queue > 65535 || !have || p_b < 0 || p_a < 0)
		return usage();

	struct nfq_handle *nh = nfq_open();

	if (!nh) {
		perror("nfq_open");
		return 1;
	}
	struct nfq_q_handle *qh = nfq_create_queue(nh, (uint16_t)queue, on_packet, NULL);

	if (!qh) {
		fprintf(stderr, "nfq_delay: cannot bind queue %d: %s\n", queue, strerror(errno));
		return 1;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
		perror("nfq_set_mode");
		return 1;
	}
	nfq_set_queue_maxlen(qh, HELD_MAX);
	nfnl_rcvbufsiz(nfq_nfnlh(nh), 4u << 20);

	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);

	int fd = nfq_fd(nh);

	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec to = { 1, 0 };
		uint64_t now = now_ns();

		while (n_heap && heap[0].due_ns <= now) {
			struct held h = pop();

			release(qh, &h, now);
		}
		if (n_heap) {
			uint64_t w = heap[0].due_ns - now;

			to.tv_sec = (time_t)(w / 1000000000ull);
			to.tv_nsec = (long)(w % 1000000000ull);
		}
		if (ppoll(&p, 1, &to, NULL) <= 0)
			continue;
		for (;;) {
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (r < 0) {
				if (errno == ENOBUFS) { /* the kernel could not tell us of some: they are dropped */
					fprintf(stderr, "nfq_delay: ENOBUFS\n");
					continue;
				}
				break;
			}
			nfq_handle_packet(nh, buf, (int)r);
		}
	}
	uint64_t now = now_ns();

	while (n_heap) {
		struct held h = pop();

		release(qh, &h, now);
	}
	printf("{\"packets\": %llu, \"reordered\": %llu, \"max_held\": %llu, \"overflow\": %llu, "
	       "\"mean_delay_ms\": %.3f, \"max_delay_ms\": %.3f, \"late_max_ms\": %.3f}\n",
	       (unsigned long long)st.packets, (unsigned long long)st.reordered, (unsigned long long)st.max_held,
	       (unsigned long long)st.overflow, st.packets ? st.delay_sum / (double)st.packets : 0.0, st.delay_max,
	       st.late_max);
	fflush(stdout);
	nfq_destroy_queue(qh);
	nfq_close(nh);
	return 0;
}
