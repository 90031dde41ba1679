#!/usr/bin/env python3
"""Print docs/cli.md §2's table of options from compiler/driver/options.def
(tests/cli/run_cli.py compares the two), or with --write replace it in
docs/cli.md.  Standard library only.

usage: scripts/cli_options_table.py [--write]   (from the repository root)
"""
import re, sys

DEF, DOC = "compiler/driver/options.def", "docs/cli.md"
START, END = "<!-- generated from compiler/driver/options.def", "<!-- end of the generated table -->"

t = open(DEF).read()
cmds = [m.group(2) for m in re.finditer(r'\bCMD\(\s*(\w+),\s*"([^"]*)"', t)]
bit = {"C_%s" % m.group(1): m.group(2) for m in re.finditer(r'\bCMD\(\s*(\w+),\s*"([^"]*)"', t)}
rows = ["| option | commands | what it does |", "|---|---|---|"]
for m in re.finditer(r'\b(OPT|OPT_ALSO)\(\s*(\w+),\s*"([^"]*)",\s*(NULL|"[^"]*"),\s*(NULL|"[^"]*"),\s*([^,]+),'
                     r'\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)', t):
    alias = None if m.group(4) == "NULL" else m.group(4).strip('"')
    value = None if m.group(5) == "NULL" else m.group(5).strip('"')
    expr = m.group(6).strip()
    cs = cmds if expr == "C_ALL" else [] if expr == "0" else [bit[b.strip()] for b in expr.split("|")]
    help_ = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(7))).replace("\\n", " ")
    label = m.group(3) + (", " + alias if alias else "")
    if value:
        label += value if value.startswith("=") or value.startswith("[=") else " " + value
    where = "all" if cs == cmds else "none (`actc --version`)" if not cs else ", ".join(c for c in cmds if c in cs)
    rows.append("| `%s` | %s | %s |" % (label.replace("|", "\\|"), where, help_.replace("|", "\\|")))
table = "\n".join(rows) + "\n"
if sys.argv[1:] == ["--write"]:
    doc = open(DOC).read()
    a = doc.index("\n", doc.index(START)) + 1
    b = doc.index(END)
    open(DOC, "w").write(doc[:a] + table + doc[b:])
else:
    sys.stdout.write(table)
