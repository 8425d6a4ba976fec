/* SPDX-License-Identifier: GPL-3.0-or-later */
/* contract.c -- the contract code read from an Odoo database (contract.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "upgrade/contract.h"
#include "upgrade/outcome.h"
#include "upgrade/pgconn.h"

bool
upg_contract_valid(const char *code)
{
  static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
  size_t n = code ? strlen(code) : 0;
  return n >= 1 && n <= 64 && strspn(code, allowed) == n && strchr("-_.", code[0]) == NULL;
}

/* The names are schema-qualified: the connection's search_path is
 * pg_catalog, and nothing the database's owner defines may stand in. */
static const char query[] = "SELECT value FROM public.ir_config_parameter WHERE key = $1";

/* What the query answered: 0 with *contract malloc'd, or a failure. */
static int
read_code(PGconn *c, const char *database, char **contract, jv *doc)
{
  const char *params[] = { "database.enterprise_code" };
  PGresult *r = PQexecParams(c, query, 1, NULL, params, NULL, NULL, 0);
  int status = 0;
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:DATABASE", "cannot read the contract from database %s (is it an Odoo "
                                  "database?): give --contract or set UPGRADE_CONTRACT", database));
  else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0) || !*PQgetvalue(r, 0, 0))
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:DATABASE", "database %s has no database.enterprise_code: give "
                                  "--contract or set UPGRADE_CONTRACT", database));
  else if (!upg_contract_valid(PQgetvalue(r, 0, 0)))
    status = upg_fail(doc, UPG_EXIT_USAGE,
                      upg_failure("CLIENT:USAGE", "the database.enterprise_code of database %s is not a contract "
                                  "code: give --contract", database));
  else if (!(*contract = strdup(PQgetvalue(r, 0, 0))))
    status = upg_fail(doc, UPG_EXIT_USAGE, upg_failure("CLIENT:FILE", "out of memory"));
  PQclear(r);
  return status;
}

int
upg_contract_from_database(const upg_settings *s, const char *database, char **contract, jv *doc)
{
  int status = 0;
  *contract = NULL;
  PGconn *c = upg_pg_connect_catalog(database, &status, doc);
  if (!c)
    return status;
  status = read_code(c, database, contract, doc);
  PQfinish(c);
  if (!status)
    upg_notice(s, "contract %s: from database %s (ir_config_parameter database.enterprise_code)", *contract,
               database);
  return status;
}
