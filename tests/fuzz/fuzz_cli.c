/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: the command line (plugin/bash/cli.c).  The input is
 * split on NUL bytes into words; any words must parse or be refused with a
 * message, and whatever parsed must be self-consistent. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *copy = malloc(size + 1);
  char *argv[33];
  int argc = 0;
  if (!copy)
    return 0;
  memcpy(copy, data, size);
  copy[size] = '\0';
  for (char *p = copy; p < copy + size && argc < 32; p += strlen(p) + 1)
    argv[argc++] = p;
  argv[argc] = NULL;

  upg_cli cli;
  int status = upg_cli_parse(argc, argv, &cli);
  if (status != 0 && (status != 2 || cli.error[0] == '\0'))
    abort();
  if (status == 0 && !cli.help && (cli.cmd <= UPG_CMD_HELP || cli.cmd >= UPG_CMD_COUNT))
    abort();
  if (status == 0 && cli.nargs > UPG_MAX_ARGS)
    abort();
  free(copy);
  return 0;
}
