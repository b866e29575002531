/* SPDX-License-Identifier: MIT
 * Unit tests for the G.711 part of codecs/cdc.h: every variant this CPU
 * has against SpanDSP's <spandsp/g711.h> (the oracle, test only) on all
 * 65,536 inputs and 256 codes, against the scalar variant on fixed-seed
 * buffers of every length 0..1000 at unaligned addresses and on saturation
 * edges, and the run-time choice (cdc_isa_select, MEDIUS_ISA, CPUID).
 * Criterion runs each test in its own process; tests that change the
 * variant in force put the one they found back all the same. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdint.h> /* before SpanDSP, whose headers use it */
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>

#include "cdc.h"

extern char **environ;

#define N_ISA 3

static const char *isa_str(int isa)
{
	return cdc_isa_name((enum cdc_isa)isa);
}

/* The best variant this CPU has. */
static enum cdc_isa best_isa(void)
{
	for (int isa = CDC_ISA_AVX512; isa > CDC_ISA_SCALAR; isa--)
		if (cdc_g711_ops((enum cdc_isa)isa))
			return (enum cdc_isa)isa;
	return CDC_ISA_SCALAR;
}

static uint64_t rng_state;
static uint32_t rng(void)
{
	/* xorshift64*, fixed seed per test */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* ---- every input against SpanDSP ---- */

static void check_encode_all(const char *what, void (*enc)(const int16_t *, uint8_t *, size_t),
			     uint8_t (*ref)(int))
{
	static int16_t in[65536];
	static uint8_t out[65536 + 1];

	for (int i = 0; i < 65536; i++)
		in[i] = (int16_t)(i - 32768);
	out[65536] = 0xa5; /* guard */
	enc(in, out, 65536);
	for (int i = 0; i < 65536; i++)
		cr_assert_eq(out[i], ref(in[i]), "%s: input %d gives 0x%02x, SpanDSP 0x%02x", what,
			     in[i], out[i], ref(in[i]));
	cr_assert_eq(out[65536], 0xa5, "%s wrote past the end", what);
}

static void check_decode_all(const char *what, void (*dec)(const uint8_t *, int16_t *, size_t),
			     int16_t (*ref)(uint8_t))
{
	uint8_t in[256];
	int16_t out[257];

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	out[256] = 0x5a5a;
	dec(in, out, 256);
	for (int i = 0; i < 256; i++)
		cr_assert_eq(out[i], ref(in[i]), "%s: code 0x%02x gives %d, SpanDSP %d", what, i, out[i],
			     ref(in[i]));
	cr_assert_eq(out[256], 0x5a5a, "%s wrote past the end", what);
	/* also one code at a time (n = 1, all tail) */
	for (int i = 0; i < 256; i++) {
		int16_t one[2] = {0, 0x5a5a};

		dec(&in[i], one, 1);
		cr_assert_eq(one[0], ref(in[i]), "%s n=1: code 0x%02x", what, i);
		cr_assert_eq(one[1], 0x5a5a, "%s n=1 wrote past the end", what);
	}
}

static uint8_t sd_ulaw_enc(int x) { return linear_to_ulaw(x); }
static uint8_t sd_alaw_enc(int x) { return linear_to_alaw(x); }
static int16_t sd_ulaw_dec(uint8_t c) { return ulaw_to_linear(c); }
static int16_t sd_alaw_dec(uint8_t c) { return alaw_to_linear(c); }

Test(g711, ulaw_encode_all_inputs)
{
	for (int isa = 0; isa < N_ISA; isa++) {
		const struct cdc_g711_ops *ops = cdc_g711_ops((enum cdc_isa)isa);

		if (ops)
			check_encode_all(isa_str(isa), ops->ulaw_encode, sd_ulaw_enc);
	}
	check_encode_all("cdc_ulaw_encode", cdc_ulaw_encode, sd_ulaw_enc);
}

Test(g711, alaw_encode_all_inputs)
{
	for (int isa = 0; isa < N_ISA; isa++) {
		const struct cdc_g711_ops *ops = cdc_g711_ops((enum cdc_isa)isa);

		if (ops)
			check_encode_all(isa_str(isa), ops->alaw_encode, sd_alaw_enc);
	}
	check_encode_all("cdc_alaw_encode", cdc_alaw_encode, sd_alaw_enc);
}

Test(g711, ulaw_decode_all_codes)
{
	for (int isa = 0; isa < N_ISA; isa++) {
		const struct cdc_g711_ops *ops = cdc_g711_ops((enum cdc_isa)isa);

		if (ops)
			check_decode_all(isa_str(isa), ops->ulaw_decode, sd_ulaw_dec);
	}
	check_decode_all("cdc_ulaw_decode", cdc_ulaw_decode, sd_ulaw_dec);
}

Test(g711, alaw_decode_all_codes)
{
	for (int isa = 0; isa < N_ISA; isa++) {
		const struct cdc_g711_ops *ops = cdc_g711_ops((enum cdc_isa)isa);

		if (ops)
			check_decode_all(isa_str(isa), ops->alaw_decode, sd_alaw_dec);
	}
	check_decode_all("cdc_alaw_decode", cdc_alaw_decode, sd_alaw_dec);
}

/* G.711 is its own inverse on codes: encode(decode(c)) == c, except μ-law
 * 0x7f ("-0"), which decodes to 0 and comes back as 0xff. */
Test(g711, code_round_trip)
{
	const struct cdc_g711_ops *s = cdc_g711_ops(CDC_ISA_SCALAR);
	uint8_t codes[256], back[256];
	int16_t pcm[256];

	for (int i = 0; i < 256; i++)
		codes[i] = (uint8_t)i;
	s->ulaw_decode(codes, pcm, 256);
	s->ulaw_encode(pcm, back, 256);
	for (int i = 0; i < 256; i++)
		cr_assert_eq(back[i], i == 0x7f ? 0xff : i, "μ-law 0x%02x -> %d -> 0x%02x", i, pcm[i],
			     back[i]);
	s->alaw_decode(codes, pcm, 256);
	s->alaw_encode(pcm, back, 256);
	for (int i = 0; i < 256; i++)
		cr_assert_eq(back[i], i, "A-law 0x%02x -> %d -> 0x%02x", i, pcm[i], back[i]);
}

/* ---- variants against scalar: lengths, alignment, edges ---- */

#define MAXN 1000
#define PAD 64

/* Run all four directions of variant v and of scalar on in16/in8[0..n)
 * and demand equal outputs and untouched guard bytes around them. */
static void compare_with_scalar(const struct cdc_g711_ops *v, const char *name,
				const int16_t *in16, const uint8_t *in8, size_t n, size_t off8,
				size_t off16)
{
	const struct cdc_g711_ops *s = cdc_g711_ops(CDC_ISA_SCALAR);
	static uint8_t ob_v[MAXN + 2 * PAD], ob_s[MAXN];
	static int16_t ow_v[MAXN + 2 * PAD], ow_s[MAXN];
	void (*enc_v[2])(const int16_t *, uint8_t *, size_t) = {v->ulaw_encode, v->alaw_encode};
	void (*enc_s[2])(const int16_t *, uint8_t *, size_t) = {s->ulaw_encode, s->alaw_encode};
	void (*dec_v[2])(const uint8_t *, int16_t *, size_t) = {v->ulaw_decode, v->alaw_decode};
	void (*dec_s[2])(const uint8_t *, int16_t *, size_t) = {s->ulaw_decode, s->alaw_decode};
	static const char *law[2] = {"ulaw", "alaw"};

	for (int l = 0; l < 2; l++) {
		memset(ob_v, 0xa5, sizeof(ob_v));
		enc_s[l](in16, ob_s, n);
		enc_v[l](in16, ob_v + PAD + off8, n);
		cr_assert_arr_eq(ob_v + PAD + off8, ob_s, n, "%s %s_encode n=%zu off=%zu differs", name,
				 law[l], n, off8);
		for (size_t i = 0; i < PAD + off8; i++)
			cr_assert_eq(ob_v[i], 0xa5, "%s %s_encode wrote before out", name, law[l]);
		for (size_t i = PAD + off8 + n; i < sizeof(ob_v); i++)
			cr_assert_eq(ob_v[i], 0xa5, "%s %s_encode n=%zu wrote past out", name, law[l],
				     n);
		for (size_t i = 0; i < n; i++) /* and the oracle, cheaply */
			cr_assert_eq(ob_s[i], l ? linear_to_alaw(in16[i]) : linear_to_ulaw(in16[i]));

		for (size_t i = 0; i < sizeof(ow_v) / sizeof(ow_v[0]); i++)
			ow_v[i] = 0x5a5a;
		dec_s[l](in8, ow_s, n);
		dec_v[l](in8, ow_v + PAD + off16, n);
		cr_assert_arr_eq(ow_v + PAD + off16, ow_s, n * sizeof(int16_t),
				 "%s %s_decode n=%zu off=%zu differs", name, law[l], n, off16);
		for (size_t i = 0; i < PAD + off16; i++)
			cr_assert_eq(ow_v[i], 0x5a5a, "%s %s_decode wrote before out", name, law[l]);
		for (size_t i = PAD + off16 + n; i < sizeof(ow_v) / sizeof(ow_v[0]); i++)
			cr_assert_eq(ow_v[i], 0x5a5a, "%s %s_decode n=%zu wrote past out", name,
				     law[l], n);
	}
}

/* Every length 0..1000 (odd tails included) from pointers misaligned by
 * 1..63 bytes for the byte buffers and 2..62 bytes (1..31 samples; int16
 * must stay 2-aligned in C) for the sample buffers. */
Test(g711, variants_match_scalar_random_unaligned)
{
	static int16_t src16[MAXN + PAD];
	static uint8_t src8[MAXN + PAD];
	int tested = 0;

	rng_state = 0x6711c0dec0ffee11ull;
	for (size_t i = 0; i < MAXN + PAD; i++) {
		uint32_t r = rng();

		/* half full-range, half small speech-like values */
		src16[i] = (int16_t)((r & 1) ? (int32_t)(r >> 16) - 32768 : (int32_t)((r >> 16) % 2001) - 1000);
		src8[i] = (uint8_t)(r >> 8);
	}
	for (int isa = 0; isa < N_ISA; isa++) {
		const struct cdc_g711_ops *v = cdc_g711_ops((enum cdc_isa)isa);

		if (!v)
			continue;
		tested++;
		for (size_t n = 0; n <= MAXN; n++) {
			size_t off8 = 1 + n % 63, off16 = 1 + n % 31;

			compare_with_scalar(v, isa_str(isa), src16 + off16, src8 + off8, n, off8, off16);
		}
	}
	cr_assert_geq(tested, 1);
}

/* -32768, 32767, -1, 0 and the values around every segment boundary of
 * both laws (μ-law: where |x| + 0x84 crosses 2^k; A-law: |x| or -x-1
 * crossing 2^k; μ-law's saturation at 32635/32636), at every position in
 * a vector and across tails. */
Test(g711, saturation_and_segment_edges)
{
	static int16_t edges[512];
	size_t ne = 0;
	static const int fixed[] = {-32768, -32767, -32766, 32767, 32766, 32765, -1,	 0,
				    1,	    -2,	    2,	    32635, 32636, -32635, -32636, 32634,
				    -32634, 8158,   8159,   -8159, -8160, 4062,   -4063};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		edges[ne++] = (int16_t)fixed[i];
	for (int k = 4; k <= 15; k++) {
		int b[2] = {(1 << k) - 0x84, 1 << k};

		for (int j = 0; j < 2; j++)
			for (int d = -2; d <= 2; d++) {
				long p = (long)b[j] + d;

				if (p >= -32768 && p <= 32767)
					edges[ne++] = (int16_t)p;
				if (-p >= -32768 && -p <= 32767)
					edges[ne++] = (int16_t)-p;
				if (-p - 1 >= -32768 && -p - 1 <= 32767)
					edges[ne++] = (int16_t)(-p - 1);
			}
	}
	cr_assert_lt(ne, sizeof(edges) / sizeof(edges[0]));

	static int16_t buf[MAXN];
	static uint8_t codes[MAXN];
	for (int isa = 0; isa < N_ISA; isa++) {
		const struct cdc_g711_ops *v = cdc_g711_ops((enum cdc_isa)isa);

		if (!v)
			continue;
		for (size_t phase = 0; phase < 67; phase++) {
			size_t n = 130 + phase * 7; /* mixed tails */

			for (size_t i = 0; i < n; i++) {
				buf[i] = edges[(i + phase) % ne];
				codes[i] = (uint8_t)(i * 37 + phase);
			}
			compare_with_scalar(v, isa_str(isa), buf, codes, n, phase % 64, phase % 31);
		}
	}
}

/* ---- the run-time choice ---- */

Test(g711, isa_names)
{
	cr_assert_str_eq(cdc_isa_name(CDC_ISA_SCALAR), "scalar");
	cr_assert_str_eq(cdc_isa_name(CDC_ISA_AVX2), "avx2");
	cr_assert_str_eq(cdc_isa_name(CDC_ISA_AVX512), "avx512");
	cr_assert_not_null(cdc_isa_name((enum cdc_isa)42));
}

Test(g711, ops_table_bounds)
{
	const struct cdc_g711_ops *s = cdc_g711_ops(CDC_ISA_SCALAR);

	cr_assert_not_null(s);
	cr_assert(s->ulaw_encode && s->ulaw_decode && s->alaw_encode && s->alaw_decode);
	cr_assert_null(cdc_g711_ops((enum cdc_isa)3));
	cr_assert_null(cdc_g711_ops((enum cdc_isa)-1));
	for (int isa = 0; isa < N_ISA; isa++) {
		const struct cdc_g711_ops *v = cdc_g711_ops((enum cdc_isa)isa);

		if (v) {
			cr_assert(v->ulaw_encode && v->ulaw_decode && v->alaw_encode && v->alaw_decode);
			for (int other = 0; other < isa; other++)
				cr_assert_neq(v, cdc_g711_ops((enum cdc_isa)other),
					      "%s is %s in disguise", isa_str(isa), isa_str(other));
		}
	}
}

Test(g711, select_caps)
{
	enum cdc_isa was = cdc_isa_active(), best = best_isa();
	int16_t pcm[333];
	uint8_t got[333];

	rng_state = 42;
	for (size_t i = 0; i < 333; i++)
		pcm[i] = (int16_t)rng();
	for (int cap = 0; cap < N_ISA; cap++) {
		enum cdc_isa want = (int)best < cap ? best : (enum cdc_isa)cap;
		enum cdc_isa now = cdc_isa_select((enum cdc_isa)cap);

		cr_assert_eq(now, want, "select(%s) gave %s, want %s", isa_str(cap), isa_str(now),
			     isa_str(want));
		cr_assert_eq(cdc_isa_active(), want);
		cdc_ulaw_encode(pcm, got, 333);
		for (size_t i = 0; i < 333; i++)
			cr_assert_eq(got[i], linear_to_ulaw(pcm[i]), "cap %s sample %zu", isa_str(cap), i);
		cdc_alaw_encode(pcm, got, 333);
		for (size_t i = 0; i < 333; i++)
			cr_assert_eq(got[i], linear_to_alaw(pcm[i]), "cap %s sample %zu", isa_str(cap), i);
	}
	cr_assert_eq(cdc_isa_select(CDC_ISA_SCALAR), CDC_ISA_SCALAR);
	cr_assert_eq(cdc_isa_active(), CDC_ISA_SCALAR);
	cr_assert_eq(cdc_isa_select(CDC_ISA_AVX512), best);
	cr_assert_eq(cdc_isa_select((enum cdc_isa)77), best, "out-of-range cap means no cap");
	cdc_isa_select(was);
	cr_assert_eq(cdc_isa_active(), was);
}

/* The flags the kernel shows, as one " flag flag ... " string. */
static char *cpu_flags(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	char *out = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) == 0) {
			char *colon = strchr(line, ':');
			size_t len;

			if (!colon)
				continue;
			len = strlen(colon + 1);
			out = malloc(len + 3);
			cr_assert_not_null(out);
			snprintf(out, len + 3, " %s ", colon + 1);
			for (char *p = out; *p; p++)
				if (*p == '\n' || *p == '\t')
					*p = ' ';
			break;
		}
	}
	fclose(f);
	return out;
}

static bool has_flag(const char *flags, const char *name)
{
	char pat[64];

	snprintf(pat, sizeof(pat), " %s ", name);
	return strstr(flags, pat) != NULL;
}

/* A dispatcher that never hands out a SIMD variant fails here. */
Test(g711, variants_present_per_cpuinfo)
{
	char *flags = cpu_flags();

	if (!flags)
		cr_skip_test("no /proc/cpuinfo flags");
	bool avx2 = has_flag(flags, "avx2");
	bool avx512 = has_flag(flags, "avx512f") && has_flag(flags, "avx512bw") &&
		      has_flag(flags, "avx512vl");

	cr_log_info("cpuinfo: avx2=%d avx512(f+bw+vl)=%d", avx2, avx512);
	cr_assert_eq(cdc_g711_ops(CDC_ISA_AVX2) != NULL, avx2, "avx2 variant vs cpuinfo");
	cr_assert_eq(cdc_g711_ops(CDC_ISA_AVX512) != NULL, avx512, "avx512 variant vs cpuinfo");
	free(flags);
}

/* The choice made at start-up: the best the CPU has, capped by MEDIUS_ISA
 * (env_cap below runs this test again with the variable set). */
Test(g711, initial_choice)
{
	const char *env = getenv("MEDIUS_ISA");
	enum cdc_isa want = best_isa();

	if (env && strcasecmp(env, "scalar") == 0)
		want = CDC_ISA_SCALAR;
	else if (env && strcasecmp(env, "avx2") == 0 && want > CDC_ISA_AVX2)
		want = CDC_ISA_AVX2;
	cr_assert_eq(cdc_isa_active(), want, "MEDIUS_ISA=%s: active %s, want %s", env ? env : "",
		     isa_str(cdc_isa_active()), isa_str(want));
}

static int run_self_with(const char *value)
{
	char *argv[] = {"test_g711", "--filter=g711/initial_choice", "--jobs=1", NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	if (value)
		setenv("MEDIUS_ISA", value, 1);
	else
		unsetenv("MEDIUS_ISA");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* Criterion's worker variables (BXFI_*) would make the child think it
	 * is a worker of ours: leave them out */
	size_t ne = 0, k = 0;
	while (environ[ne])
		ne++;
	char **envp = calloc(ne + 1, sizeof(*envp));
	cr_assert_not_null(envp);
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "BXFI_", 5) != 0)
			envp[k++] = environ[i];
	/* readlink, not exec of /proc/self/exe: right under valgrind too */
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cr_assert_gt(sl, 0);
	self[sl] = '\0';
	rc = posix_spawn(&pid, self, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	cr_assert_eq(rc, 0, "spawn: %s", strerror(rc));
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(g711, env_cap)
{
	const char *old = getenv("MEDIUS_ISA");
	char *saved = old ? strdup(old) : NULL;
	static const char *values[] = {"scalar", "avx2", "avx512", NULL};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		cr_assert_eq(run_self_with(values[i]), 0, "initial_choice fails with MEDIUS_ISA=%s",
			     values[i] ? values[i] : "(unset)");
	if (saved) {
		setenv("MEDIUS_ISA", saved, 1);
		free(saved);
	} else {
		unsetenv("MEDIUS_ISA");
	}
}
