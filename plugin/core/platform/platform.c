/* SPDX-License-Identifier: GPL-3.0-or-later */
/* platform.c -- the backend that speaks the chosen dialect, and the log's
 * tail (see platform.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "upgrade/platform.h"

const upg_platform *
upg_platform_of(const upg_settings *s)
{
  return upg_dialect_choose(s->api, s->base_url) == UPG_DIALECT_V1 ? &upg_platform_v1 : &upg_platform_rpc;
}

void
upg_log_tail_free(upg_log_tail *t)
{
  free(t->text);
  free(t->line);
  t->text = t->line = NULL;
  t->text_len = t->line_len = 0;
}

jv
upg_log_tail_doc(const upg_log_tail *t)
{
  jv d = jv_object_set(jv_object(), jv_string("from"), jv_number((double)t->from));
  d = jv_object_set(d, jv_string("next"), jv_number((double)t->next));
  return jv_object_set(d, jv_string("text"), jv_string_sized(t->text ? t->text : "", (int)t->text_len));
}
