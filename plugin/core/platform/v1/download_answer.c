/* SPDX-License-Identifier: GPL-3.0-or-later */
/* download_answer.c -- the headers of a download's answer (download_answer.h). */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upgrade/download_answer.h"
#include "upgrade/provenance.h"
#include "upgrade/response.h"

/* Digits at *P (no sign), advancing *P.  False when there are none or
 * they overflow. */
static bool
number(const char **p, long long *out)
{
  long long v = 0;
  if (!isdigit((unsigned char)**p))
    return false;
  for (; isdigit((unsigned char)**p); (*p)++) {
    if (v > (LLONG_MAX - 9) / 10)
      return false;
    v = v * 10 + (**p - '0');
  }
  *out = v;
  return true;
}

/* "bytes START-LAST/TOTAL", "bytes START-LAST/ *" or "bytes * /TOTAL". */
static bool
parse_range(struct upg_answer *a, const char *p)
{
  a->start = a->last = a->total = -1;
  if (strncasecmp(p, "bytes", 5) != 0)
    return false;
  for (p += 5; *p == ' '; p++)
    ;
  if (*p == '*')
    p++;
  else if (!number(&p, &a->start) || *p++ != '-' || !number(&p, &a->last) || a->last < a->start)
    return false;
  if (*p++ != '/')
    return false;
  if (*p == '*')
    p++;
  else if (!number(&p, &a->total))
    return false;
  return *p == '\0' && (a->start >= 0 || a->total >= 0);
}

/* VALUE into OUT when it is printable text that fits (it may be sent back
 * in a header), else "". */
static void
keep_text(char *out, size_t max, const char *value)
{
  size_t n = strlen(value);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] >= 0x7f)
      return;
  if (n < max)
    memcpy(out, value, n + 1);
}

static void
read_field(struct upg_answer *a, const char *name, const char *value)
{
  if (strcasecmp(name, "Content-Range") == 0) {
    a->has_range = true;
    upg_excerpt(value, strlen(value), a->range, sizeof a->range);
    a->range_ok = parse_range(a, value);
  } else if (strcasecmp(name, "Content-Length") == 0) {
    const char *p = value;
    if (!number(&p, &a->length) || *p)
      a->length = -1;
  } else if (strcasecmp(name, "ETag") == 0 && strncmp(value, "W/", 2) != 0) {
    keep_text(a->etag, sizeof a->etag, value); /* a weak one cannot validate a range */
  } else if (strcasecmp(name, "Last-Modified") == 0) {
    keep_text(a->last_modified, sizeof a->last_modified, value);
  }
}

/* What the answer says about the remote file, as provenance validators. */
jv
upg_answer_validators(const struct upg_answer *a, long long total)
{
  jv v = jv_object();
  if (a->etag[0])
    v = jv_object_set(v, jv_string("etag"), jv_string(a->etag));
  if (a->last_modified[0])
    v = jv_object_set(v, jv_string("last_modified"), jv_string(a->last_modified));
  if (total >= 0)
    v = jv_object_set(v, jv_string("size"), jv_number((double)total));
  return v;
}

bool
upg_answer_line(struct upg_answer *a, const char *line, size_t n)
{
  size_t len = n;
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  if (len == 0)
    return true;
  char text[512];
  if (len >= sizeof text)
    return false; /* no header we read is that long */
  memcpy(text, line, len);
  text[len] = '\0';
  if (strncmp(text, "HTTP/", 5) == 0) {
    memset(a, 0, sizeof *a);
    a->length = -1;
    const char *sp = strchr(text, ' ');
    a->code = sp ? strtol(sp + 1, NULL, 10) : 0;
    return false;
  }
  char *colon = strchr(text, ':');
  if (colon) {
    *colon = '\0';
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
      value++;
    for (char *e = value + strlen(value); e > value && (e[-1] == ' ' || e[-1] == '\t');)
      *--e = '\0';
    read_field(a, text, value);
  }
  return false;
}

bool
upg_answer_if_range(jv validators, char *out, size_t max)
{
  jv etag = upg_provenance_validator(validators, "etag");
  jv lm = upg_provenance_validator(validators, "last_modified");
  jv by = jv_get_kind(etag) == JV_KIND_STRING ? etag : lm;
  bool some = jv_get_kind(by) == JV_KIND_STRING;
  out[0] = '\0';
  if (some)
    snprintf(out, max, "If-Range: %s", jv_string_value(by));
  jv_free(etag);
  jv_free(lm);
  return some;
}
