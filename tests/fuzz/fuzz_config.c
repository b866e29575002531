/* libFuzzer target: the configuration file parser (control/ctl_config.c on
 * libinih). The input is a config file: read from memory
 * (ctl_config_load_string, up to its first NUL) and as a file through a
 * memfd (ctl_config_load, every byte, NULs included). Checked: the error
 * text is a terminated string; the two readers agree on inputs without a
 * NUL; and a file that loads and passes ctl_config_check round-trips:
 * ctl_config_dump's text loads again and dumps to the same text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctl_config.h"

#define CHECK(c)                            \
	do {                                \
		if (!(c))                   \
			__builtin_trap();   \
	} while (0)

static char *dump(const struct ctl_config *c, size_t *len)
{
	char *p = NULL;
	FILE *f = open_memstream(&p, len);

	CHECK(f);
	ctl_config_dump(c, f);
	CHECK(!fclose(f));
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_config a, b;
	static int fd = -1;
	char err[512], path[64], *text, *d1, *d2;
	size_t l1, l2;
	int rs, rf;

	if (size > 1 << 16)
		return 0;
	if (fd < 0 && (fd = memfd_create("fuzz_config", MFD_CLOEXEC)) < 0)
		abort();
	text = malloc(size + 1);
	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';

	ctl_config_defaults(&a);
	err[0] = 'x';
	memset(err + 1, 'x', sizeof(err) - 1);
	rs = ctl_config_load_string(&a, text, err, sizeof(err));
	CHECK(rs == 0 || (rs < 0 && memchr(err, '\0', sizeof(err))));

	/* the same bytes as a file */
	CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ctl_config_defaults(&b);
	rf = ctl_config_load(&b, path, err, sizeof(err));
	CHECK(rf == 0 || (rf < 0 && memchr(err, '\0', sizeof(err))));
	if (!memchr(data, '\0', size))
		CHECK(rs == rf);

	if (rs == 0 && ctl_config_check(&a, err, sizeof(err)) == 0) {
		d1 = dump(&a, &l1);
		ctl_config_defaults(&b);
		if (ctl_config_load_string(&b, d1, err, sizeof(err))) {
			fprintf(stderr, "the dump does not load: %s\n%s", err, d1);
			__builtin_trap();
		}
		d2 = dump(&b, &l2);
		if (l1 != l2 || memcmp(d1, d2, l1)) {
			fprintf(stderr, "the dump changed on reloading:\n%s\n---- reloaded:\n%s", d1, d2);
			__builtin_trap();
		}
		free(d1);
		free(d2);
	}
	free(text);
	return 0;
}
