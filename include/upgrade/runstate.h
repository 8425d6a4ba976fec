/* SPDX-License-Identifier: GPL-3.0-or-later */
/* runstate.h -- the record `upgrade run` keeps beside the dump, so that a
 * job broken off by a crash, a closed terminal or Ctrl-C can be picked up
 * with `upgrade run --continue DUMP`.
 *
 * The file is DUMP.upgrade.json, mode 0600 (it holds the request's key),
 * rewritten atomically after every step and closed once the upgraded dump
 * is downloaded -- or, for a job that started from a database (run
 * --database), once it is restored: "state" is "open" while the job is,
 * "closed" after (kept, so that a finished job can be found again).  Such a job's first record is written before the dump is made
 * (step "started"), when no request exists yet: until "created" it holds
 * what `create` will send.
 *
 * A job under the rpc dialect ("dialect": "rpc"; a record without it is
 * v1's, as every record was before) holds the request's token (a secret,
 * as v1's key), its node, the path of the private key the request is
 * bound to (by default DUMP.upgrade.key, made by run beside the record,
 * 0600) and what process said of the PostgreSQL versions; v1's records
 * are written as before, without these fields.
 *
 * The record says where the dump goes, with which key, and where the result
 * is written, so only a record the user alone could have written is
 * believed: a regular file, owned by the user, with no access for group or
 * others.  Anything else (another owner, mode 0644 or 0666, a symlink, a
 * FIFO, a directory) is refused at once, without reading it.
 */
#ifndef UPGRADE_RUNSTATE_H
#define UPGRADE_RUNSTATE_H

#include <stdbool.h>
#include <jv.h>

#define UPG_RUNSTATE_SUFFIX ".upgrade.json"

/* The steps of the job, in order; a record names the last one completed.
 * STARTED, DUMPED, DOWNLOADED and RESTORED are recorded only by a job that
 * starts from a database. */
enum upg_run_step {
  UPG_STEP_NONE, UPG_STEP_STARTED, UPG_STEP_DUMPED, UPG_STEP_CREATED, UPG_STEP_UPLOADED, UPG_STEP_PROCESSED, UPG_STEP_DONE,
  UPG_STEP_DOWNLOADED, UPG_STEP_RESTORED
};

typedef struct upg_runstate {
  char *path;          /* DUMP.upgrade.json */
  char *request, *key; /* the request; NULL before the step CREATED */
  char *url;           /* the API base it lives on */
  char *output;        /* where the upgraded dump goes */
  char *contract, *email, *target, *aim, *filename, *timezone; /* what create sends */
  char **env;          /* rpc: create's env_vars ("NAME=VALUE", NULL-terminated), or NULL */
  bool sftp;
  bool force;          /* --force: the output may be replaced (kept for --continue) */
  bool no_filestore;   /* --no-filestore: restored without the source's filestore */
  char *database;      /* run --database: the database dumped, else NULL */
  char *restore_as;    /* the database restored into; NULL: --no-restore */
  char *data_dir;      /* Odoo's data dir for the filestore; NULL: default */
  bool rpc;            /* the rpc dialect's job ("dialect": "rpc"); else v1's */
  char *token;         /* rpc: the request's token (a secret); NULL before CREATED */
  char *node;          /* rpc: the node create assigned (a bare host) */
  char *identity;      /* rpc: the private key the request is bound to */
  bool pg_incompatible; /* rpc: process said is_pg_version_compatible false: no restore */
  enum upg_run_step step;
  bool closed;         /* the job is over: kept to be found again ("state": "closed") */
} upg_runstate;

/* The record's path for DUMP (malloc'd); a directory dump's trailing
 * slashes do not count ("db.dump/" has db.dump.upgrade.json). */
char *upg_runstate_path(const char *dump);

#define UPG_RUNSTATE_KEY_SUFFIX ".upgrade.key"
/* Where run keeps the key pair it makes for an rpc request: DUMP.upgrade.key
 * and DUMP.upgrade.key.pub, beside the record (malloc'd). */
char *upg_runstate_key_path(const char *dump);

/* Read the record of DUMP into RS.  0 when read; UPG_RUNSTATE_NONE when
 * there is none (errno ENOENT); 2 with *doc set (CLIENT:FILE) when it
 * exists but cannot be trusted (see above) or used. */
#define UPG_RUNSTATE_NONE (-1)
int upg_runstate_load(upg_runstate *rs, const char *dump, jv *doc);

/* Write RS to its path: a new temporary file beside it (created O_EXCL,
 * mode 0600, so nothing planted there is reused), fsync, rename.  0, or
 * exit 2 with *doc set. */
int upg_runstate_save(const upg_runstate *rs, jv *doc);

/* Whether RS's record could be written: a temporary file is created beside
 * it and removed.  Called before anything is created on the platform, so
 * that an unwritable directory loses no request.  0, or exit 2 with *doc. */
int upg_runstate_check_writable(const upg_runstate *rs, jv *doc);

/* Remove the record (a job that never got a request: nothing to find). */
void upg_runstate_remove(const upg_runstate *rs);

/* The job is over (the upgraded dump downloaded, or restored; or the
 * request ended badly): the record is kept, closed ("state": "closed",
 * still 0600: it holds the key, which names the request on the platform),
 * so that `upgrade jobs` finds it again.  A closed record is no open job:
 * a new `run` on the dump replaces it, `--continue` refuses it.  0, or
 * exit 2 with *doc set when it cannot be written. */
int upg_runstate_close(upg_runstate *rs, jv *doc);

/* Free RS's strings. */
void upg_runstate_free(upg_runstate *rs);

const char *upg_run_step_name(enum upg_run_step step);

#endif
