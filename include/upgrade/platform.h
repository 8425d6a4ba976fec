/* SPDX-License-Identifier: GPL-3.0-or-later */
/* platform.h -- the platform, whichever dialect it speaks: one interface in
 * front of the two (platform/platform.c), as curl's vtls.h is in front of
 * its TLS backends.  The job layer (wait, run) and the binding call the
 * platform through an upg_platform and never name a dialect:
 *
 *   v1   the Database Upgrade API (platform/v1/backend.c, over api.c,
 *        upload.c, download.c): a request id and a key;
 *   rpc  the JSON-RPC API of the platform's own script (platform/rpc/
 *        backend.c): a token, a node, rsync over ssh, a log.
 *
 * The dialect is --api, else $UPGRADE_API (settings.api holds whichever
 * was given), else the base URL: a path ending in "/database/v1" is v1,
 * anything else rpc (interface.md, "Two dialects").
 *
 * Every operation returns an exit status (outcome.h) and sets *doc to the
 * document to print, one reference for the caller.  The settings are
 * borrowed for the call.
 */
#ifndef UPGRADE_PLATFORM_H
#define UPGRADE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <jv.h>

#include "upgrade/settings.h"

enum upg_dialect { UPG_DIALECT_V1, UPG_DIALECT_RPC };

/* The dialect API names ("v1", "rpc"; NULL or anything else: none) or,
 * without one, the one BASE_URL speaks (NULL: the default URL).  Pure. */
enum upg_dialect upg_dialect_choose(const char *api, const char *base_url);
/* "v1" or "rpc". */
const char *upg_dialect_name(enum upg_dialect d);

/* What create sends.  v1 takes contract, email, target, aim, filename and
 * timezone; rpc takes contract, target, aim, env ("NAME=VALUE" values,
 * NULL-terminated, or NULL), env_file (a file of such lines) and
 * settings.identity.  All borrowed. */
typedef struct upg_create_params {
  const char *contract, *email, *target, *aim, *filename, *timezone;
  const char *const *env;
  const char *env_file;
} upg_create_params;

/* The platform's log as `log`, `log --follow` and `wait --log` read it:
 * byte offsets (never characters), the unfinished last line kept until
 * its end comes.  Zero it, set FROM = NEXT, KEEP_TEXT and PRINT;
 * upg_log_tail_free at the end. */
typedef struct upg_log_tail {
  unsigned long long from, next;  /* the first byte asked for; the next one to ask for */
  bool keep_text;                 /* gather every text read into TEXT */
  bool print;                     /* each complete line a notice (stderr) */
  char *text;                     /* malloc'd: what was read (made safe), when keep_text */
  size_t text_len;
  char *line;                     /* malloc'd: the unfinished last line */
  size_t line_len;
} upg_log_tail;

void upg_log_tail_free(upg_log_tail *t);
/* {"from": FROM, "next": NEXT, "text": TEXT}. */
jv upg_log_tail_doc(const upg_log_tail *t);

/* A shell variable a successful create (or run) sets from the document's
 * "request" FIELD. */
typedef struct upg_platform_var {
  const char *field, *variable;
  bool optional;  /* set to "" when the field is absent */
  bool secret;    /* never exported, even under `set -a` */
} upg_platform_var;

typedef struct upg_platform {
  enum upg_dialect dialect;
  /* The methods.  upload and download are this dialect's transfers. */
  int (*create)(const upg_settings *s, const upg_create_params *p, jv *doc);
  int (*upload)(const upg_settings *s, const char *path, jv *doc);
  int (*process)(const upg_settings *s, jv *doc);
  int (*status)(const upg_settings *s, jv *doc);
  /* One status exchange, never retried; *transient: a failure a later
   * poll may not meet (the network, a 5xx, the platform's SERVER:ERROR). */
  int (*status_once)(const upg_settings *s, bool *transient, jv *doc);
  /* WHAT (v1's --what; NULL: the upgraded dump) into OUTPUT (v1: a file;
   * rpc: a directory). */
  int (*download)(const upg_settings *s, const char *what, const char *output, bool force, jv *doc);
  /* The request is named (v1: request and key; rpc: a token): 0, or
   * exit 2 CLIENT:USAGE with *doc set. */
  int (*require_request)(const upg_settings *s, jv *doc);
  /* Read the log from T->next once, as T says; LAST: the request ended,
   * print the unfinished line too.  NULL when the dialect has no log
   * (v1). */
  int (*log_read)(const upg_settings *s, upg_log_tail *t, bool last, jv *doc);

  /* What wait reads in a status document (not consumed): the state
   * (malloc'd, NULL when absent), whether it ends the request, whether it
   * ended well, and whether the request has not started yet (v1's draft,
   * rpc's new: waiting would never end). */
  char *(*state)(jv status_doc);
  bool (*is_final)(const char *state);
  bool (*is_done)(const char *state);
  bool (*is_unstarted)(const char *state);
  /* How notices name the request, into BUF: "request 12" (v1), "the
   * request" (rpc: its only name is a secret). */
  void (*label)(const upg_settings *s, char *buf, size_t len);

  /* The job record's fields: the shell variables create sets, ended by a
   * { NULL } entry. */
  const upg_platform_var *vars;
} upg_platform;

/* The platform settings S speak (settings.api, else the base URL). */
const upg_platform *upg_platform_of(const upg_settings *s);

/* The two backends (platform/v1/backend.c, platform/rpc/backend.c). */
extern const upg_platform upg_platform_v1;
extern const upg_platform upg_platform_rpc;

#endif
