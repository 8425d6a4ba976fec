/* SPDX-License-Identifier: GPL-3.0-or-later */
/* human.c -- redaction and printable text for stderr (see human.h). */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/human.h"

void
upg_secret_add(const upg_settings *s, const char *secret)
{
  upg_secrets *l = s ? s->secrets : NULL;
  if (!l || !secret || !*secret)
    return;
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->list[i], secret) == 0)
      return;
  char **grown = realloc(l->list, (l->n + 1) * sizeof *grown);
  if (!grown)
    return;
  l->list = grown;
  if ((l->list[l->n] = strdup(secret)))
    l->n++;
}

void
upg_secrets_free(upg_secrets *l)
{
  for (size_t i = 0; i < l->n; i++)
    free(l->list[i]);
  free(l->list);
  l->list = NULL;
  l->n = 0;
}

static int
hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c = (char)tolower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The length of SECRET spelt at P -- each of its characters raw or as %XX
 * with hex digits of either case, as servers and libraries differ -- or 0. */
static size_t
secret_at(const char *p, const char *secret)
{
  const char *start = p;
  for (; *secret; secret++) {
    if (*p == *secret) {
      p++;
    } else if (p[0] == '%' && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0 &&
               hex_value(p[1]) * 16 + hex_value(p[2]) == (unsigned char)*secret) {
      p += 3;
    } else {
      return 0;
    }
  }
  return (size_t)(p - start);
}

char *
upg_redact(const char *text, const char *secret)
{
  /* Room for the worst case: a one-byte secret, each byte becoming "***". */
  size_t len = strlen(text);
  char *out = malloc(len * 3 + 1);
  if (!out)
    return NULL;
  char *o = out;
  for (const char *p = text; *p;) {
    size_t n = secret && *secret ? secret_at(p, secret) : 0;
    if (n) {
      memcpy(o, "***", 3);
      o += 3;
      p += n;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
  return out;
}

/* The length of the UTF-8 sequence at P (1 to 4) and its code point, or 0
 * when P does not start a valid one. */
static int
utf8_at(const unsigned char *p, unsigned *cp)
{
  int n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
  if (!n)
    return 0;
  unsigned v = n == 1 ? p[0] : p[0] & (0x7f >> n);
  for (int i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    v = v << 6 | (p[i] & 0x3f);
  }
  static const unsigned least[] = { 0, 0, 0x80, 0x800, 0x10000 };
  if (v < least[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return n;
}

/* Code points a terminal acts upon, or that reorder or break a line. */
static bool
control(unsigned cp)
{
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x200e && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

/* The escape for control code point CP into OUT (room for 7 bytes). */
static size_t
escape(unsigned cp, char *out)
{
  static const char *const named[32] = { ['\a'] = "\\a", ['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n",
                                         ['\v'] = "\\v", ['\f'] = "\\f", ['\r'] = "\\r", [0x1b] = "\\e" };
  if (cp < 32 && named[cp])
    return (size_t)sprintf(out, "%s", named[cp]);
  if (cp < 0x100)
    return (size_t)sprintf(out, "\\x%02x", cp);
  return (size_t)sprintf(out, "\\u%04x", cp);
}

/* LEN bytes of TEXT (TEXT[LEN] is a NUL: no sequence is read past it)
 * with every control escaped (but for '\n' and '\t' when LINES), cut
 * after MAX bytes. */
static char *
printable(const char *text, size_t len, size_t max, bool lines)
{
  size_t keep = len < max ? len : max;
  char *out = malloc(keep * 6 + 64), *o = out;
  const unsigned char *p = (const unsigned char *)text, *end = p + len;
  if (!out)
    return NULL;
  while (p < end && (size_t)(p - (const unsigned char *)text) < keep) {
    unsigned cp;
    int n = utf8_at(p, &cp);
    if (!n || cp == 0) {
      o += sprintf(o, "\\x%02x", *p++); /* not UTF-8: one byte at a time */
    } else if (control(cp) && !(lines && (cp == '\n' || cp == '\t'))) {
      o += escape(cp, o);
      p += n;
    } else {
      memcpy(o, p, (size_t)n);
      o += n;
      p += n;
    }
  }
  if (p < end)
    o += sprintf(o, "... (%zu more bytes)", (size_t)(end - p));
  *o = '\0';
  return out;
}

char *
upg_safe_text(const char *bytes, size_t len)
{
  char *copy = malloc(len + 1); /* NUL-terminated, for utf8_at */
  if (!copy)
    return NULL;
  memcpy(copy, bytes, len);
  copy[len] = '\0';
  char *out = printable(copy, len, len, true);
  free(copy);
  return out;
}

char *
upg_human_text(const upg_settings *s, const char *text)
{
  const upg_secrets *l = s ? s->secrets : NULL;
  char *redacted = strdup(text);
  for (size_t i = 0; l && redacted && i < l->n; i++) {
    char *next = upg_redact(redacted, l->list[i]);
    free(redacted);
    redacted = next;
  }
  char *out = redacted ? printable(redacted, strlen(redacted), UPG_HUMAN_MAX, false) : NULL;
  free(redacted);
  return out;
}
