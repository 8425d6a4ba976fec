/* SPDX-License-Identifier: GPL-3.0-or-later */
/* version.c -- the versions document (see version.h). */
#include "config.h"

#include <curl/curl.h>
#include <libssh2.h>

#include "upgrade/outcome.h"
#include "upgrade/version.h"

static jv
string_or_null(const char *s)
{
  return s ? jv_string(s) : jv_null();
}

jv
upg_version_doc(const char *host_version)
{
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  jv v = jv_object();
  v = jv_object_set(v, jv_string("upgrade"), jv_string(PACKAGE_VERSION));
  v = jv_object_set(v, jv_string("curl"), string_or_null(curl->version));
  v = jv_object_set(v, jv_string("tls"), string_or_null(curl->ssl_version));
  v = jv_object_set(v, jv_string("libssh2"), string_or_null(libssh2_version(0)));
  v = jv_object_set(v, jv_string("libjq"), jv_string(UPG_LIBJQ_VERSION));
  v = jv_object_set(v, jv_string("bash"), string_or_null(host_version));
  return upg_doc_with("version", v);
}
