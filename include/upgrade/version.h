/* SPDX-License-Identifier: GPL-3.0-or-later */
/* version.h -- `upgrade version` / `upgrade --version`: which module and
 * which libraries a shell is running, as curl -V and jq --version say it.
 *
 * The core cannot know its host; the binding passes the host's version
 * (bash's shell_version_string()).
 */
#ifndef UPGRADE_VERSION_H
#define UPGRADE_VERSION_H

#include <jv.h>

/* {"failures": [], "version": {"upgrade", "curl", "tls", "libssh2",
 * "libjq", "bash"}}.  curl, tls and libssh2 are asked of the libraries
 * loaded now (a library upgraded under the module shows); libjq has no
 * version call in 1.6, so it is the version configure found at build time.
 * A value a library does not give (no TLS backend) is null.  HOST_VERSION
 * (not owned; NULL: null) goes in as "bash".  The result is owned by the
 * caller. */
jv upg_version_doc(const char *host_version);

#endif
