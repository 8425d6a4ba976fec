/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: redaction and printable text for stderr (plugin/core/base/human.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "upgrade/human.h"

static void
redacts(const char *text, const char *secret, const char *want, const char *what)
{
  char *r = upg_redact(text, secret);
  is_str(r, want, "%s", what);
  free(r);
}

static void
human(const upg_settings *s, const char *text, const char *want, const char *what)
{
  char *r = upg_human_text(s, text);
  is_str(r, want, "%s", what);
  free(r);
}

int
main(void)
{
  redacts("url?key=SECRET&x=SECRET", "SECRET", "url?key=***&x=***", "redact every occurrence");
  redacts("nothing here", "SECRET", "nothing here", "redact leaves other text");
  redacts("abc", NULL, "abc", "redact with no secret copies");
  redacts("abc", "", "abc", "redact with an empty secret copies");
  redacts("k=Ab%2BC%2Fd%3D.", "Ab+C/d=", "k=***.", "percent-encoded, upper-case hex");
  redacts("k=Ab%2bC%2fd%3d.", "Ab+C/d=", "k=***.", "percent-encoded, lower-case hex");
  redacts("k=Ab+C%2fd%3D.", "Ab+C/d=", "k=***.", "partly encoded, mixed case");
  redacts("k=Ab%2", "Ab+", "k=Ab%2", "a cut escape is no match");

  upg_secrets list = { 0 };
  upg_settings s = { .secrets = &list };
  upg_secret_add(&s, "first+key");
  upg_secret_add(&s, "second/key");
  upg_secret_add(&s, "first+key");
  upg_secret_add(&s, "");
  upg_secret_add(&s, NULL);
  ok(list.n == 2, "secrets: two, no repeat, no empty one");
  human(&s, "a first+key b second%2Fkey", "a *** b ***", "every secret of the call is cut out");
  human(NULL, "plain", "plain", "no settings: copied");

  human(&s, "\x1b]0;title\a\r\nupgrade: done\t\x7f", "\\e]0;title\\a\\r\\nupgrade: done\\t\\x7f",
        "C0 controls and DEL are escaped");
  human(&s, "caf\xc3\xa9 \xc2\x9b" "2J \xe2\x80\xae" "x \xe2\x80\xa8", "caf\xc3\xa9 \\x9b" "2J \\u202e" "x \\u2028",
        "UTF-8 kept, C1, bidi and line separators escaped");
  human(&s, "bad \xff\xc3 end", "bad \\xff\\xc3 end", "bytes that are not UTF-8 are escaped");

  char *big = malloc(UPG_HUMAN_MAX + 501);
  memset(big, 'x', UPG_HUMAN_MAX + 500);
  big[UPG_HUMAN_MAX + 500] = '\0';
  char *cut = upg_human_text(&s, big);
  ok(cut && strlen(cut) < UPG_HUMAN_MAX + 40 && strstr(cut, "... (500 more bytes)"), "a long text is cut, with a note");
  free(cut);
  free(big);
  upg_secrets_free(&list);
  ok(list.n == 0 && !list.list, "secrets freed");
  return tap_done();
}
