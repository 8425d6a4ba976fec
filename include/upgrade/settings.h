/* SPDX-License-Identifier: GPL-3.0-or-later */
/* settings.h -- what every call needs to know, and how it reaches its host.
 *
 * The core (plugin/core) never includes a bash header: the bash binding
 * fills an upg_settings from the command line and the shell's variables and
 * hands the core a few callbacks (upg_host) for what only the host knows --
 * whether the user pressed Ctrl-C, and where human-readable lines go.
 */
#ifndef UPGRADE_SETTINGS_H
#define UPGRADE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct upg_host {
  /* The number of a signal that asks the running call to stop, or 0.
   * Called several times a second from every loop that can block. */
  int (*interrupted)(void *data);
  /* One line for humans (state changes, warnings, failures), without
   * newline, already made safe by upg_human_text: the host prints it on
   * stderr as "upgrade: LINE".  May be NULL. */
  void (*notice)(void *data, const char *line);
  /* A line printed as it is (--verbose's trace, jq's `debug`), already
   * made safe likewise.  May be NULL. */
  void (*trace)(void *data, const char *line);
  /* A line redrawn in place (a progress meter, wait's state and time), or
   * NULL to clear it.  Called only when settings.progress is set; the host
   * clears it before printing a notice.  May be NULL. */
  void (*status_line)(void *data, const char *line);
  void *data;
} upg_host;

/* The secrets a call has used or learnt (human.h): copies, owned by the
 * call, freed at its end. */
typedef struct upg_secrets {
  char **list;
  size_t n;
} upg_secrets;

/* The platform's front: the rpc dialect (platform.h); v1's base is
 * https://upgrade.odoo.com/database/v1. */
#define UPG_DEFAULT_URL "https://upgrade.odoo.com"
#define UPG_PARALLEL_MAX 16

typedef struct upg_settings {
  const char *base_url;       /* API base: https://host/database/v1 (v1), https://host (rpc) */
  const char *request;        /* request id, as text */
  const char *key;            /* the request's private key: a secret */
  const char *api;            /* --api or $UPGRADE_API: "v1", "rpc", or NULL (the URL chooses: platform.h) */
  const char *token;          /* the rpc dialect's request token: a secret */
  const char *node;           /* the rpc node create assigned (a bare host, $UPGRADE_HOST);
                               * NULL: ask status for host_uri */

  /* TLS and transport, as in curl */
  const char *cacert;         /* --cacert FILE */
  bool insecure;              /* -k: no TLS verification, http:// allowed */
  const char *connect_to;     /* --connect-to HOST:PORT:TO-HOST:TO-PORT, as curl's */
  long connect_timeout_ms;    /* 0 = library default */
  long max_time_ms;           /* 0 = no limit */
  int retry;                  /* extra attempts for what is safe to retry */
  long retry_delay_ms;        /* first delay between attempts (doubles) */
  bool silent;                /* -s: no meter, no messages */
  bool progress;              /* a meter on stderr (the host decides) */
  int columns;                /* stderr's width for the meter; 0 = 80 */
  bool verbose;               /* libcurl's trace on stderr, key redacted */
  int parallel;               /* --parallel N: streams of a transfer, 1 to
                               * UPG_PARALLEL_MAX; 0 = the core chooses */

  /* SSH / SFTP */
  const char *known_hosts;    /* NULL = ~/.ssh/known_hosts */
  bool accept_new_host_key;
  const char *identity;       /* private key file; NULL = ssh's defaults */
  const char *ssh_keys;       /* public keys file to send (sftp-put) */

  upg_host host;
  upg_secrets *secrets;       /* NULL: nothing to redact (unit tests) */
} upg_settings;

/* The signal that stops the call, or 0 (asks the host). */
int upg_interrupted(const upg_settings *s);
/* A human line through the host, unless silent; printf-like.  Like every
 * line below, it is passed through upg_human_text (human.h) first. */
void upg_notice(const upg_settings *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* TEXT as one human line (unless silent): failure lines, jq's errors. */
void upg_say(const upg_settings *s, const char *text);
/* TEXT as one trace line, printed even with -s (asked for explicitly). */
void upg_trace(const upg_settings *s, const char *text);
/* The monotonic clock in seconds: for durations and deadlines. */
double upg_now(void);
/* SECONDS rounded to the millisecond: every "seconds" of a document. */
double upg_round_ms(double seconds);
/* Sleep MS milliseconds in short slices, returning early with the signal
 * number if the host says the call must stop; 0 when the time passed. */
int upg_sleep_ms(const upg_settings *s, long ms);

#endif
