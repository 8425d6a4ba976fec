/* SPDX-License-Identifier: GPL-3.0-or-later */
/* form.h -- URLs and form bodies (pure string work, unit-tested). */
#ifndef UPGRADE_FORM_H
#define UPGRADE_FORM_H

/* Percent-encode S for a query string or form body: everything but RFC 3986
 * unreserved characters is escaped, so a key holding '+', '/' or '=' reaches
 * the server intact.  Returns a malloc'd string. */
char *upg_percent_encode(const char *s);

/* "name=value&…" from a NULL-terminated list of name, value pairs; a pair
 * whose value is NULL is left out.  Returns a malloc'd string. */
char *upg_form_encode(const char *const *pairs);

/* BASE "/" METHOD, with exactly one slash between them, and "?" QUERY when
 * QUERY is not NULL.  Returns a malloc'd string. */
char *upg_url_join(const char *base, const char *method, const char *query);

/* The scheme check every URL passes before a request goes out. */
enum upg_url_scheme {
  UPG_URL_HTTPS,     /* https:// (any case) */
  UPG_URL_PLAIN,     /* http://: the key would travel in clear */
  UPG_URL_OTHER      /* anything else, or no scheme */
};
enum upg_url_scheme upg_url_scheme(const char *url);

#endif
