/* SPDX-License-Identifier: GPL-3.0-or-later */
/* zip_limits.c -- a zip's names and sizes held to what it declared (see
 * zip_limits.h). */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade/zip_limits.h"

int
upg_zip_names_add(upg_zip_names *set, const char *name)
{
  if (set->n == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    char **v = realloc(set->v, cap * sizeof *v);
    if (!v)
      return -1;
    set->v = v;
    set->cap = cap;
  }
  size_t len = strlen(name);
  if (len > 1 && name[len - 1] == '/')
    len--;
  char *copy = strndup(name, len);
  if (!copy)
    return -1;
  set->v[set->n++] = copy;
  return 0;
}

static int
by_bytes(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, a repeat is next to its twin: n log n for a filestore of 100 000
 * files, where comparing each name with all others would be n². */
const char *
upg_zip_names_repeat(upg_zip_names *set)
{
  if (set->n < 2)
    return NULL;
  qsort(set->v, set->n, sizeof *set->v, by_bytes);
  for (size_t i = 1; i < set->n; i++)
    if (strcmp(set->v[i - 1], set->v[i]) == 0)
      return set->v[i];
  return NULL;
}

void
upg_zip_names_free(upg_zip_names *set)
{
  for (size_t i = 0; i < set->n; i++)
    free(set->v[i]);
  free(set->v);
  memset(set, 0, sizeof *set);
}

bool
upg_zip_within(long long declared, long long done, size_t len)
{
  if (declared < 0 || done < 0 || done > declared)
    return false;
  return len <= (unsigned long long)(declared - done);
}

int
upg_zip_add_size(long long *total, long long size)
{
  if (size < 0 || *total > LLONG_MAX - size)
    return -1;
  *total += size;
  return 0;
}

long long
upg_free_bytes(unsigned long long bavail, unsigned long long frsize)
{
  if (frsize && bavail > (unsigned long long)LLONG_MAX / frsize)
    return LLONG_MAX;
  return (long long)(bavail * frsize);
}
