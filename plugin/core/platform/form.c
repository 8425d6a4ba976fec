/* SPDX-License-Identifier: GPL-3.0-or-later */
/* form.c -- URLs and form bodies (see form.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upgrade/form.h"

static int
unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
      || c == '-' || c == '.' || c == '_' || c == '~';
}

char *
upg_percent_encode(const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc(strlen(s) * 3 + 1);
  char *o = out;

  if (!out)
    return NULL;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (unreserved(*p)) {
      *o++ = (char)*p;
    } else {
      *o++ = '%';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 15];
    }
  }
  *o = '\0';
  return out;
}

char *
upg_form_encode(const char *const *pairs)
{
  size_t cap = 1;
  for (const char *const *p = pairs; p[0]; p += 2)
    if (p[1])
      cap += strlen(p[0]) * 3 + strlen(p[1]) * 3 + 2;

  char *out = malloc(cap);
  if (!out)
    return NULL;
  out[0] = '\0';
  size_t len = 0;
  for (const char *const *p = pairs; p[0]; p += 2) {
    if (!p[1])
      continue;
    char *name = upg_percent_encode(p[0]);
    char *value = upg_percent_encode(p[1]);
    if (!name || !value) {
      free(name);
      free(value);
      free(out);
      return NULL;
    }
    len += (size_t)sprintf(out + len, "%s%s=%s", len ? "&" : "", name, value);
    free(name);
    free(value);
  }
  return out;
}

char *
upg_url_join(const char *base, const char *method, const char *query)
{
  size_t blen = strlen(base);
  while (blen > 0 && base[blen - 1] == '/')
    blen--;
  while (*method == '/')
    method++;

  size_t cap = blen + 1 + strlen(method) + (query ? 1 + strlen(query) : 0) + 1;
  char *url = malloc(cap);
  if (!url)
    return NULL;
  memcpy(url, base, blen);
  url[blen] = '/';
  strcpy(url + blen + 1, method);
  if (query) {
    strcat(url, "?");
    strcat(url, query);
  }
  return url;
}

enum upg_url_scheme
upg_url_scheme(const char *url)
{
  if (strncasecmp(url, "https://", 8) == 0)
    return UPG_URL_HTTPS;
  if (strncasecmp(url, "http://", 7) == 0)
    return UPG_URL_PLAIN;
  return UPG_URL_OTHER;
}
