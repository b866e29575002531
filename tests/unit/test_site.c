/* SPDX-License-Identifier: MIT
 * Unit tests for control/ctl_site: the site from ng metadata, and the
 * order metadata, interface, first interface. */
#include <criterion/criterion.h>

#include "ctl_site.h"

Test(site, from_metadata)
{
	char s[CTL_SITE_MAX];

	cr_assert_eq(ctl_site_from_metadata("site:north|case:42", s), 1);
	cr_assert_str_eq(s, "north");
	cr_assert_eq(ctl_site_from_metadata("case:42|site:clinic-7.b_2", s), 1);
	cr_assert_str_eq(s, "clinic-7.b_2");
	cr_assert_eq(ctl_site_from_metadata("case:42|website:x", s), 0, "a key ending in site is not site");
	cr_assert_str_eq(s, "");
	cr_assert_eq(ctl_site_from_metadata("", s), 0);
	cr_assert_eq(ctl_site_from_metadata(NULL, s), 0);
	cr_assert_eq(ctl_site_from_metadata("site", s), 0, "no value part");
	cr_assert_eq(ctl_site_from_metadata("site:", s), -1);
	cr_assert_eq(ctl_site_from_metadata("site:a b", s), -1, "a space");
	cr_assert_str_eq(s, "");
	cr_assert_eq(ctl_site_from_metadata("site:../x", s), -1);
	cr_assert_eq(ctl_site_from_metadata("site:0123456789012345678901234567890", s), 1, "31 characters");
	cr_assert_eq(ctl_site_from_metadata("site:01234567890123456789012345678901", s), -1, "32 characters");
	cr_assert_eq(ctl_site_from_metadata("site:a|site:b", s), 1);
	cr_assert_str_eq(s, "a", "the first entry");
}

Test(site, resolve_order)
{
	cr_assert_str_eq(ctl_site_resolve("north", "lan", "default"), "north");
	cr_assert_str_eq(ctl_site_resolve("", "lan", "default"), "lan");
	cr_assert_str_eq(ctl_site_resolve(NULL, "", "wan"), "wan");
	cr_assert_str_eq(ctl_site_resolve(NULL, NULL, NULL), "default");
}
