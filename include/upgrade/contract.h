/* SPDX-License-Identifier: GPL-3.0-or-later */
/* contract.h -- the contract code a request is created with, when it is
 * not given: read from the Odoo database itself, as the platform's own
 * script does (contract.c).
 */
#ifndef UPGRADE_CONTRACT_H
#define UPGRADE_CONTRACT_H

#include <stdbool.h>
#include <jv.h>

#include "upgrade/settings.h"

/* Whether CODE has the shape of a contract code: 1 to 64 ASCII letters,
 * digits, '-', '_' or '.', starting with a letter or digit.  Pure.  (What
 * a database holds is untrusted: it reaches a form field and the
 * terminal only once it passed this.) */
bool upg_contract_valid(const char *code);

/* The enterprise code of the Odoo database DATABASE
 * (ir_config_parameter's "database.enterprise_code"), read through a
 * catalog-pinned libpq connection (pgconn.h) and checked with
 * upg_contract_valid; a notice on S says where it came from.  0 with
 * *contract malloc'd (the caller frees it); or 2 with *doc set
 * (CLIENT:DATABASE: no such table or no code, CLIENT:USAGE: not a contract
 * code), 3 when the server cannot be reached. */
int upg_contract_from_database(const upg_settings *s, const char *database, char **contract, jv *doc);

#endif
