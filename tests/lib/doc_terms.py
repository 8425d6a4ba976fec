#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""doc_terms.py KIND FILE -- the subcommands and options a document names,
one per line ("sub NAME" / "opt --name" / "opt -x"), sorted.

KIND says how to read FILE:
  help    the builtin's help texts (`help upgrade` then every
          `upgrade help CMD`, concatenated): subcommands from the overview's
          "Subcommands:" block, options from everything;
  man     the roff of upgrade(1): its SUBCOMMANDS and OPTIONS sections;
  readme  README.md: its "## Using it" section (the subcommand table and the
          options table);
  cli     plugin/bash/cli.c: the command_names and options tables.

tests/e2e/18-docs-release.bats compares these sets so that the help, the man
page and the README never drift apart.
"""
import re
import sys

# An option: -x or --long-name, standing alone (not inside a word such as
# "re-run" or a path such as "a-b").
OPTION = re.compile(r"(?<![\w./-])(--[a-z][a-z0-9-]*[a-z0-9]|-[a-zA-Z])(?![\w-])")


# Another program's command line quoted in the text ("`pg_dump --format=custom
# --no-owner`", "pg_restore --jobs N"): its options are that program's.
OTHER_PROGRAM = re.compile(r"`(?:pg_dump|pg_restore|psql|curl|sftp|ssh|ssh-keygen|jq|unzip)\b[^`]*`")


def options(text):
    text = OTHER_PROGRAM.sub("", text)
    return {m.group(1) for m in OPTION.finditer(text)}


def section(text, start, end):
    """The lines from the one matching START up to the next matching END."""
    out, inside = [], False
    for line in text.splitlines():
        if inside and re.match(end, line):
            break
        if re.match(start, line):
            inside = True
        if inside:
            out.append(line)
    return "\n".join(out)


def from_help(text):
    subs = set()
    block = section(text, r"^Subcommands:", r"^\S|^$")
    for line in block.splitlines()[1:]:
        m = re.match(r"^  ([a-z][a-z-]*)", line)
        if m:
            subs.add(m.group(1))
    return subs, options(text)


def unroff(text):
    text = re.sub(r"\\f[BIRP]", "", text)
    text = text.replace("\\-", "-").replace("\\e", "\\")
    return text


def from_man(text):
    text = unroff(text)
    subs = set()
    lines = section(text, r"^\.SH SUBCOMMANDS", r"^\.SH (?!SUBCOMMANDS)").splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".TP") and i + 1 < len(lines):
            words = re.sub(r'^\.[A-Z]+\s+', "", lines[i + 1]).replace('"', " ").split()
            subs.update(w.strip(",") for w in words[:1] if re.match(r"^[a-z][a-z-]*,?$", w))
    opts = options(section(text, r"^\.SH SUBCOMMANDS", r"^\.SH OUTPUT"))
    return subs, opts


def from_readme(text):
    text = section(text, r"^## Using it", r"^## (?!Using it)")
    subs = set()
    for line in text.splitlines():
        m = re.match(r"^\| ((?:`[^`]*`(?:, )?)+) \|", line)
        if not m or line.startswith("| subcommand"):
            continue
        for cell in re.findall(r"`([a-z][a-z-]*)", m.group(1)):
            subs.add(cell)
    # The option table's rows name options, the subcommand table's rows
    # subcommands; a subcommand row's first cell starts with its name.
    subs = {s for s in subs if not s.startswith("-")}
    return subs, options(text)


def from_cli(text):
    names = section(text, r"^static const char \*const command_names", r"^};")
    subs = set(re.findall(r'\] = "([a-z-]+)"', names))
    table = section(text, r"^static const struct option_spec options", r"^};")
    opts = set()
    for name, letter in re.findall(r'\] = \{ (?:"([a-z-]+)"|NULL), (?:\'(.)\'|0),', table):
        if name:
            opts.add("--" + name)
        if letter:
            opts.add("-" + letter)
    return subs, opts


def main():
    kind, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    subs, opts = {"help": from_help, "man": from_man, "readme": from_readme, "cli": from_cli}[kind](text)
    for s in sorted(subs):
        print("sub", s)
    for o in sorted(opts):
        print("opt", o)


if __name__ == "__main__":
    main()
