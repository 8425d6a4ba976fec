/* SPDX-License-Identifier: GPL-3.0-or-later */
/* log.c -- the rpc platform's log (see rpc_log.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "upgrade/http.h"
#include "upgrade/human.h"
#include "upgrade/outcome.h"
#include "upgrade/response.h"
#include "upgrade/rpc_call.h"
#include "upgrade/rpc_log.h"
#include "upgrade/rpc_request.h"

/* A line longer than this is printed in pieces: a log without newlines
 * must not grow the shell's memory. */
#define LINE_MAX_BYTES 65536

size_t
upg_rpc_log_usable(const char *bytes, size_t len)
{
  const unsigned char *p = (const unsigned char *)bytes;
  for (size_t back = 1; back <= 3 && back <= len; back++) {
    unsigned char c = p[len - back];
    if ((c & 0xc0) == 0x80)
      continue; /* a continuation byte: look further back for its lead */
    int need = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
    return (size_t)need > back ? len - back : len;
  }
  return len;
}

/* One GET of the log from FROM at BASE: the body (malloc'd, or NULL when
 * empty) into *reply. */
static int
get_log(const upg_settings *s, const char *base, unsigned long long from, upg_http_reply *reply, jv *doc)
{
  char *url, *range;
  if (upg_rpc_log_request(base, s->token, from, &url, &range) != 0)
    return upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "logs: out of memory"));
  int status = upg_http_get(s, "logs", url, range, reply, doc);
  free(url);
  free(range);
  if (status)
    return status;
  if (reply->status < 200 || reply->status > 299 || (reply->content_type && strcasestr(reply->content_type, "html"))) {
    char excerpt[120];
    upg_excerpt(reply->body ? reply->body : "", reply->len, excerpt, sizeof excerpt);
    status = reply->status < 200 || reply->status > 299
      ? upg_fail(doc, UPG_EXIT_TRANSPORT, jv_object_set(upg_failure("CLIENT:HTTP", "logs: HTTP %ld", reply->status),
                                                       jv_string("code"), jv_number((double)reply->status)))
      : upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:BAD_RESPONSE", "logs: an HTML page, not the log "
                                                       "(response begins: %s)", excerpt));
    upg_http_reply_free(reply);
  }
  return status;
}

/* Append LEN bytes to *BUF (*BUF_LEN long): 0 or -1 (out of memory). */
static int
append(char **buf, size_t *buf_len, const char *data, size_t len)
{
  char *grown = realloc(*buf, *buf_len + len + 1);
  if (!grown)
    return -1;
  memcpy(grown + *buf_len, data, len);
  *buf_len += len;
  grown[*buf_len] = '\0';
  *buf = grown;
  return 0;
}

/* Print T's complete lines (all of it when LAST, or when a line grew too
 * long) and keep the rest. */
static void
print_lines(const upg_settings *s, upg_log_tail *t, bool last)
{
  size_t start = 0;
  for (size_t i = 0; i < t->line_len; i++) {
    if (t->line[i] != '\n' && i - start < LINE_MAX_BYTES)
      continue;
    char saved = t->line[i];
    t->line[i] = '\0';
    upg_notice(s, "log: %s", t->line + start);
    t->line[i] = saved;
    start = saved == '\n' ? i + 1 : i;
  }
  if (last && start < t->line_len)
    upg_notice(s, "log: %s", t->line + start);
  if (last)
    start = t->line_len;
  memmove(t->line, t->line + start, t->line_len - start);
  t->line_len -= start;
}

int
upg_rpc_log_read(const upg_settings *s, upg_log_tail *t, bool last, jv *doc)
{
  char *base = NULL;
  upg_http_reply reply = { 0 };
  int status = upg_rpc_require_token(s, doc);
  if (status || (status = upg_rpc_node_base(s, &base, doc)) || (status = get_log(s, base, t->next, &reply, doc)))
    goto out;
  size_t used = reply.body ? upg_rpc_log_usable(reply.body, reply.len) : 0;
  if (t->keep_text && used) {
    char *safe = upg_safe_text(reply.body, used);
    if (!safe || append(&t->text, &t->text_len, safe, strlen(safe)) != 0) {
      free(safe);
      status = upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "logs: out of memory"));
      goto out;
    }
    free(safe);
  }
  if (t->print) {
    if (used && append(&t->line, &t->line_len, reply.body, used) != 0) {
      status = upg_fail(doc, UPG_EXIT_TRANSPORT, upg_failure("CLIENT:NETWORK", "logs: out of memory"));
      goto out;
    }
    print_lines(s, t, last);
  }
  t->next += used;
out:
  upg_http_reply_free(&reply);
  free(base);
  return status;
}
