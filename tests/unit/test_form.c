/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: URL and form encoding (plugin/core/platform/form.c). */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "upgrade/form.h"

static void
check_encode(const char *in, const char *want)
{
  char *got = upg_percent_encode(in);
  is_str(got, want, "percent-encode \"%s\"", in);
  free(got);
}

int
main(void)
{
  check_encode("Aw7pItGVKFuZ_FOR3U8VFQ==", "Aw7pItGVKFuZ_FOR3U8VFQ%3D%3D");
  check_encode("a+b/c=d", "a%2Bb%2Fc%3Dd");
  check_encode("john.doe@example.com", "john.doe%40example.com");
  check_encode("with space&amp", "with%20space%26amp");
  check_encode("", "");
  check_encode("\xc3\xa9", "%C3%A9");
  check_encode("-._~", "-._~");

  const char *pairs[] = { "request", "10534", "key", "k+/=", "timezone", NULL, "aim", "test", NULL };
  char *form = upg_form_encode(pairs);
  is_str(form, "request=10534&key=k%2B%2F%3D&aim=test", "form skips NULL values, encodes keys");
  free(form);

  const char *none[] = { "timezone", NULL, NULL };
  form = upg_form_encode(none);
  is_str(form, "", "form with no values is empty");
  free(form);

  char *url = upg_url_join("https://h/database/v1", "create", NULL);
  is_str(url, "https://h/database/v1/create", "join without slash");
  free(url);
  url = upg_url_join("https://h/database/v1///", "/status", "request=1&key=2");
  is_str(url, "https://h/database/v1/status?request=1&key=2", "join trims slashes, adds query");
  free(url);

  ok(upg_url_scheme("https://x") == UPG_URL_HTTPS, "https is https");
  ok(upg_url_scheme("HTTPS://x") == UPG_URL_HTTPS, "scheme is case-insensitive");
  ok(upg_url_scheme("http://x") == UPG_URL_PLAIN, "http is plain");
  ok(upg_url_scheme("file:///etc/passwd") == UPG_URL_OTHER, "file:// is refused");
  ok(upg_url_scheme("127.0.0.1/x") == UPG_URL_OTHER, "no scheme is refused");
  return tap_done();
}
