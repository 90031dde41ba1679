#!/usr/bin/env python3
"""docs/guide.md's transcripts, run and compared with what the tools print.

The guide shows shell transcripts: `$ command` lines, each followed by what
it printed.  This script:

1. extracts the files the guide defines into a fresh temporary directory:
   every code block whose first line (after a `#!` line) is a comment that
   names a file, `# model.act — ...`, `# compare.py A.npy B.npy — ...`,
   `/* app.c — ... */`; then copies the few repository files the guide
   uses without showing them (DERIVED below).  The files it describes in
   prose (broken.act, swapped.act, tanh.act, pre1.npy, x1.npy, xi.npy,
   xf.npy, trunc.safetensors) are made by commands the guide shows;
2. runs, in guide order, in that directory, in one bash session, the
   commands of every transcript block marked on the line before its fence
   with `<!-- guide-test -->` (output compared) or
   `<!-- guide-test: run -->` (run for its side effects; every command
   must exit 0, output not compared):
     compared  §2 (check, broken.act), §3 (export.py, actc run, compare.py),
               §3.1 (the fusion report's end), §4 (jit.c built and run,
               actc run on the same rows), §5 (the header's functions, the
               object with libactrt, the object with embedded weights),
               §9 (every block but the timings)
     run       §9's three `actc bench` timings
     not run   §1 (make demo needs root for apt, cmake --install writes a
               prefix), §5's CMake and make + pkg-config projects (they
               need the installed CMake package and actrt.pc), §6 (its
               probe.act is not examples/dead_units/probe_relu.act, line
               numbers differ), §7 (the accuracy tool, 10 s), §8 (timings
               and the repository's examples/dead_units)
3. compares each command's stdout + stderr with the lines under it in the
   guide, after these normalisations only: the temporary directory's path
   reads as GUIDE_WORK; a `...` line in the guide matches any run of lines
   (none included); the floating-point values of FLOAT_LINES compare
   within TOLERANCE.  Exit status is checked where the guide shows it
   (`echo $?`, `; echo "exit $?"`).

The session: the directory of ACTC first on PATH; HOME is the temporary
directory's home/, whose .local/ stands for the prefix of §1's install:
.local/include is SOURCE_DIR/include and .local/lib/libactc.a,
libactrt.a, libactrt.so are BUILD_DIR's (nothing else is there, so the
blocks that need the installed CMake package or actrt.pc stay unmarked);
XDG_CACHE_HOME is empty (no tuning profile, as for every test); LC_ALL=C.

usage: run_guide.py ACTC BUILD_DIR SOURCE_DIR [--update] [--keep] [--guide FILE]
  --update  rewrite the compared blocks that differ with the actual output,
            keeping the guide's `...` cuts (review the diff, then commit)
  --keep    keep the temporary directory (kept anyway on failure)

Without --update: exit 0 when every compared block matches, 1 with a
unified diff per differing command (section, guide line, command) when one
does not; 77 (skipped) only when /usr/bin/python3 has no torch.  Standard
library only; no network, no root.
"""
import difflib, os, re, shlex, shutil, signal, subprocess, sys, tempfile, time

# The guide's own name for the project directory (its §1 ran with HOME
# /tmp/guide-work/home): the temporary directory's path reads as this.
GUIDE_WORK = "/tmp/guide-work"

# Files the guide uses but does not show, made before the first command:
# copies of repository files, at the path the guide uses them under.
DERIVED = {
    # §3.1's fusion report and §9's timings name them by repository path
    "examples/wine_classifier.act": "examples/wine_classifier.act",
    "examples/ffn.act": "examples/ffn.act",
    # §9: "probe.act" is §8's probe model, with its weights and inputs
    "probe.act": "examples/dead_units/probe_relu.act",
    "mlp_relu.safetensors": "examples/dead_units/mlp_relu.safetensors",
    "data.npy": "examples/dead_units/data.npy",
}

MARK_RE = re.compile(r"^<!--\s*guide-test(?::\s*(\w+))?\s*-->\s*$")
FENCE_RE = re.compile(r"^```")
HEADING_RE = re.compile(r"^(#{2,3})\s+(\d+(?:\.\d+)*)\.?\s+(.*)$")
# "# NAME [ARGS] — what" or "/* NAME — what */"; the em dash is required, so
# "# mlp_relu.act (its lines 8-12)" (an excerpt) names no file.
FILE_RE = re.compile(r"^(?:#|/\*)\s*([\w.+-]+\.[A-Za-z]+)\b[^—]*\s—\s")
END = "\x1e"  # record separator: ends each command's output in the session log


class Block:
    def __init__(self, start, end, mark, section):
        self.start, self.end, self.mark, self.section = start, end, mark, section


class Command:
    def __init__(self, block, line, text, expected):
        self.block, self.line, self.text, self.expected = block, line, text, expected
        self.actual, self.status = None, None


def read_blocks(lines):
    """Every fenced block: start and end are the fence lines' indices."""
    blocks, section, i = [], "the introduction", 0
    while i < len(lines):
        m = HEADING_RE.match(lines[i])
        if m:
            section = "§%s %s" % (m.group(2), m.group(3))
        if FENCE_RE.match(lines[i]):
            j = i + 1
            while j < len(lines) and not FENCE_RE.match(lines[j]):
                j += 1
            if j == len(lines):
                sys.exit("guide line %d: unterminated code block" % (i + 1))
            mm = MARK_RE.match(lines[i - 1]) if i > 0 else None
            if mm and mm.group(1) not in (None, "run"):
                sys.exit("guide line %d: unknown mark %r" % (i, lines[i - 1]))
            mark = None if not mm else (mm.group(1) or "compare")
            blocks.append(Block(i, j, mark, section))
            i = j
        elif MARK_RE.match(lines[i]) and not (i + 1 < len(lines) and FENCE_RE.match(lines[i + 1])):
            sys.exit("guide line %d: a guide-test mark must be the line before a fence" % (i + 1))
        i += 1
    return blocks


def block_file(lines, b):
    """The file a block defines, or None."""
    body = lines[b.start + 1:b.end]
    first = body[1] if body and body[0].startswith("#!") and len(body) > 1 else (body[0] if body else "")
    m = FILE_RE.match(first)
    return m.group(1) if m else None


def is_complete(text):
    """A command ends where its quotes close and no backslash continues it."""
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text)
        return True
    except ValueError:
        return False


def read_commands(lines, b):
    body, cmds, k = lines[b.start + 1:b.end], [], 0
    if body and not body[0].startswith("$ "):
        sys.exit("guide line %d: a marked block must start with a '$ ' command" % (b.start + 2))
    while k < len(body):
        line, text = b.start + 2 + k, body[k][2:]
        k += 1
        while not is_complete(text) and k < len(body):
            text += "\n" + body[k]
            k += 1
        out = []
        while k < len(body) and not body[k].startswith("$ "):
            out.append(body[k])
            k += 1
        cmds.append(Command(b, line, text, out))
    return cmds


def make_tree(tmp, src, build, lines, blocks):
    """The project directory: the guide's files, DERIVED, a fake ~/.local."""
    seen = {}
    for b in blocks:
        name = block_file(lines, b)
        if not name:
            continue
        if name in seen:
            sys.exit("guide lines %d and %d both define %s" % (seen[name], b.start + 2, name))
        seen[name] = b.start + 2
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write("\n".join(lines[b.start + 1:b.end]) + "\n")
        if lines[b.start + 1].startswith("#!"):
            os.chmod(path, 0o755)
    for name, rel in DERIVED.items():
        os.makedirs(os.path.dirname(os.path.join(tmp, name)), exist_ok=True)
        shutil.copyfile(os.path.join(src, rel), os.path.join(tmp, name))
    local = os.path.join(tmp, "home", ".local")
    os.makedirs(os.path.join(local, "lib"))
    os.symlink(os.path.join(src, "include"), os.path.join(local, "include"))
    for lib in ("libactc.a", "libactrt.a", "libactrt.so"):
        os.symlink(os.path.join(build, lib), os.path.join(local, "lib", lib))
    os.makedirs(os.path.join(tmp, "xdg-cache"))
    return sorted(seen)


def run_session(tmp, bindir, cmds):
    """All commands in one bash, in order, so that cd, export and $? carry
    over as in a terminal; each command's output ends with END, its number
    and its exit status.  Returns the time taken."""
    script = ["cd %s || exit 99" % shlex.quote(tmp), "__guide_st=0"]
    for n, c in enumerate(cmds):
        # (exit N) gives the command the previous command's $?
        script += ["(exit $__guide_st)", c.text, "__guide_st=$?",
                   "printf '%s%d %%d%s\\n' $__guide_st" % (END, n, END)]
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
               HOME=os.path.join(tmp, "home"), XDG_CACHE_HOME=os.path.join(tmp, "xdg-cache"),
               LC_ALL="C", PYTHONDONTWRITEBYTECODE="1")
    # The script is a file beside the project directory, not bash's stdin,
    # which a command might read.
    path = tmp + ".sh"
    with open(path, "w") as f:
        f.write("\n".join(script) + "\n")
    t0 = time.monotonic()
    p = subprocess.Popen(["bash", "--norc", "--noprofile", path], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                         start_new_session=True)
    try:
        log, _ = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        log, _ = p.communicate()
        print("FAIL: the session took more than 300 s")
    os.remove(path)
    log = log.decode("utf-8", "replace")
    rec = re.compile("%s(\\d+) (\\d+)%s\n" % (END, END))
    pos = 0
    for m in rec.finditer(log):
        c = cmds[int(m.group(1))]
        c.actual, c.status, pos = log[pos:m.start()].splitlines(), int(m.group(2)), m.end()
    if log[pos:].strip():
        print("session output after the last command:\n" + log[pos:])
    return time.monotonic() - t0


def normalise(line, tmp):
    """Actual output only: the temporary directory reads as the guide's."""
    return line.replace(os.path.realpath(tmp), GUIDE_WORK).replace(tmp, GUIDE_WORK)


# Floating-point values the guide prints that legitimately differ between
# machines, each compared within TOLERANCE instead of exactly.  The model's
# f32 outputs depend on the order in which its matrix products are summed,
# which depends on the CPU the JIT or AOT code is compiled for (vector
# width, tiles) and, for PyTorch, on its kernels for that CPU: on the Intel
# Xeon the JIT is 3.8e-6 from the f64 reference, on the AMD EPYC it was
# 2.9e-6.  1e-5 is a few times that (outputs up to 19.8) and far below what
# a modelling mistake does (§9: 0.0032, 12.7), so those stay exact.
TOLERANCE = 1e-5
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
ROUNDING = re.compile(r"max abs difference ([^,\s]+),")
FLOAT_LINES = [
    # compare.py's difference of a correct model from PyTorch or from the
    # reference: rounding error, so any two values below TOLERANCE agree
    ("rounding", ROUNDING),
    # jit.c's and app.c's "y[0] =  1.775807 ..." lines (%9.6f) and numpy's
    # print of an output array ("[[ 1.7758075 ..."): each number within
    # TOLERANCE of the guide's; numpy's column widths may differ
    ("outputs", re.compile(r"^y\[\d+\] =( +-?\d+\.\d+)+$|^[\[\] ]*(-?\d+\.\d*(e[-+]?\d+)? *)+[\] ]*$")),
]


def same(expected, actual):
    """A guide line and an actual line agree: equal, or equal up to the
    floating-point values of FLOAT_LINES."""
    if expected == actual:
        return True
    for kind, rx in FLOAT_LINES:
        if not (rx.search(expected) and rx.search(actual)):
            continue
        if kind == "rounding":
            a, b = ROUNDING.search(expected).group(1), ROUNDING.search(actual).group(1)
            try:
                ok = float(a) < TOLERANCE and float(b) < TOLERANCE
            except ValueError:
                return False
            return ok and ROUNDING.sub("", expected) == ROUNDING.sub("", actual)
        if " ".join(NUMBER.sub("#", expected).split()) != " ".join(NUMBER.sub("#", actual).split()):
            return False
        return all(abs(float(a) - float(b)) <= TOLERANCE
                   for a, b in zip(NUMBER.findall(expected), NUMBER.findall(actual)))
    return False


# Costs of the alignment: a guide line with no actual counterpart costs a
# little more than an extra actual line, so that a cut never swallows a
# guide line that is still printed.
SUB, INS, DEL = 2, 2, 3


def align(expected, actual, eq=same):
    """Least-cost alignment of the guide's lines (a "..." matches any run of
    actual lines for free) with the actual ones.  Returns (cost, ops), ops a
    list of (kind, guide line, actual lines), kind "same", "cut", "sub"
    (the line differs), "del" (a guide line not printed), "ins" (a line the
    guide lacks); cost 0 means the output matches."""
    ne, na = len(expected), len(actual)
    cost = [[0] * (na + 1) for _ in range(ne + 1)]
    for i in range(ne, -1, -1):
        for j in range(na, -1, -1):
            if i == ne:
                cost[i][j] = INS * (na - j)
                continue
            if expected[i] == "...":
                best = cost[i + 1][j]                      # the cut ends here
                if j < na:
                    best = min(best, cost[i][j + 1])       # the cut takes actual[j]
            else:
                best = cost[i + 1][j] + DEL
                if j < na:
                    best = min(best, cost[i + 1][j + 1] + (0 if eq(expected[i], actual[j]) else SUB))
            if j < na:
                best = min(best, cost[i][j + 1] + INS)
            cost[i][j] = best
    # Of equal-cost paths take, in this order: a matching line, the end of
    # a cut, a line into the cut, an extra line, a changed one, a missing one.
    ops, i, j = [], 0, 0
    while i < ne or j < na:
        c, e = cost[i][j], expected[i] if i < ne else None
        if e == "...":
            if not (ops and ops[-1][0] == "cut" and ops[-1][1] is e):
                ops.append(("cut", e, []))
            if cost[i + 1][j] == c:
                i += 1
            else:
                ops[-1][2].append(actual[j])
                j += 1
        elif e is not None and j < na and eq(e, actual[j]) and cost[i + 1][j + 1] == c:
            ops.append(("same", e, [actual[j]]))
            i, j = i + 1, j + 1
        elif j < na and cost[i][j + 1] + INS == c:
            ops.append(("ins", None, [actual[j]]))
            j += 1
        elif e is not None and j < na and cost[i + 1][j + 1] + SUB == c:
            ops.append(("sub", e, [actual[j]]))
            i, j = i + 1, j + 1
        else:
            ops.append(("del", e, []))
            i += 1
    return cost[0][0], ops


def updated(expected, actual):
    """The guide's lines rewritten to the actual output, its cuts kept.
    Lines are compared exactly here (FLOAT_LINES not applied), so that the
    guide shows what the machine that regenerated it printed."""
    out = []
    for kind, e, acts in align(expected, actual, str.__eq__)[1]:
        out += [e] if kind in ("same", "cut") else acts
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    update, keep = "--update" in sys.argv, "--keep" in sys.argv
    guide = None
    if "--guide" in sys.argv:
        guide = sys.argv[sys.argv.index("--guide") + 1]
        args.remove(guide)
    if len(args) != 3:
        sys.exit(__doc__)
    actc, build, src = (os.path.abspath(a) for a in args)
    guide = guide or os.path.join(src, "docs", "guide.md")
    if not os.path.exists("/usr/bin/python3") or subprocess.run(
            ["/usr/bin/python3", "-c", "import torch, numpy"], capture_output=True).returncode:
        print("skipped: /usr/bin/python3 has no torch (the guide's export.py trains with it)")
        return 77

    with open(guide) as f:
        text = f.read()
    lines = text.split("\n")
    blocks = read_blocks(lines)
    cmds = [c for b in blocks if b.mark for c in read_commands(lines, b)]
    if not cmds:
        sys.exit("%s: no block is marked <!-- guide-test -->" % guide)
    tmp = tempfile.mkdtemp(prefix="actc-guide-")
    files = make_tree(tmp, src, build, lines, blocks)
    print("files from the guide: %s" % " ".join(files))
    secs = run_session(tmp, os.path.dirname(actc), cmds)

    failures, changed = 0, {}
    for c in cmds:
        where = "%s, guide line %d: $ %s" % (c.block.section, c.line, c.text.split("\n")[0])
        if c.actual is None:
            failures += 1
            print("FAIL: %s: not run (the session ended before it)" % where)
            continue
        if c.block.mark == "run":
            if c.status != 0:
                failures += 1
                print("FAIL: %s: exit status %d\n%s" % (where, c.status, "\n".join(c.actual)))
            continue
        actual = [normalise(l, tmp) for l in c.actual]
        if update:
            new = updated(c.expected, actual)
            if new != c.expected:
                changed[c] = new
            continue
        if align(c.expected, actual)[0] == 0:
            continue
        failures += 1
        print("FAIL: %s" % where)
        sys.stdout.writelines(difflib.unified_diff(
            [l + "\n" for l in c.expected], [l + "\n" for l in actual],
            "docs/guide.md %s, line %d" % (c.block.section, c.line + c.text.count("\n") + 1),
            "actual output of $ %s" % c.text.split("\n")[0]))

    if changed:
        # Replace from the end so earlier line numbers stay valid.
        for c in sorted(changed, key=lambda c: -c.line):
            first = c.line - 1 + c.text.count("\n") + 1
            lines[first:first + len(c.expected)] = changed[c]
            print("updated: %s, guide line %d: $ %s" % (c.block.section, c.line, c.text.split("\n")[0]))
        with open(guide, "w") as f:
            f.write("\n".join(lines))
    ncomp = sum(1 for c in cmds if c.block.mark == "compare")
    print("%d commands in %d blocks (%d compared), %.1f s; %d failed%s" % (
        len(cmds), len({c.block for c in cmds}), ncomp, secs, failures,
        "; %d updated" % len(changed) if update else ""))
    if failures or keep:
        print("kept %s" % tmp)
    else:
        shutil.rmtree(tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
