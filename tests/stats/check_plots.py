#!/usr/bin/env python3
"""Check the plots of `actc stats --plot DIR` (docs/stats.md), stdlib only.

Every DIR/*.svg and DIR/index.html must parse as XML (xml.etree); each SVG
is an <svg> in the SVG namespace with 67 bars (rect class="bar": the 65
bins, underflow and overflow), no script and no external reference;
index.html is an XHTML-style <html> whose <img> elements name exactly the
SVGs of DIR.  If rsvg-convert is on PATH, each SVG is rendered to a PNG in
a temporary directory (or --png-dir OUT, kept): exit status 0 and a
non-empty PNG.

usage: check_plots.py DIR [--png-dir OUT]
exit status 0 when every check passes, else 1 with a message per failure.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
BARS = 67

failures = []


def fail(msg):
    failures.append(msg)
    print("check_plots: FAIL: " + msg, file=sys.stderr)


def parse(path):
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        fail("%s: %s" % (path, e))
        return None


def check_svg(path):
    root = parse(path)
    if root is None:
        return
    if root.tag != SVG + "svg":
        fail("%s: the root element is %s, not an SVG <svg>" % (path, root.tag))
        return
    bars = [e for e in root.iter(SVG + "rect") if "bar" in e.get("class", "").split()]
    if len(bars) != BARS:
        fail("%s: %d bars (rect class=\"bar\"), expected %d" % (path, len(bars), BARS))
    for e in root.iter():
        if e.tag == SVG + "script":
            fail("%s: a <script> element" % path)
        for attr in ("href", XLINK_HREF):
            if e.get(attr) is not None:
                fail("%s: an external reference %s=%r" % (path, attr, e.get(attr)))


def check_index(path, svgs):
    root = parse(path)
    if root is None:
        return
    if root.tag != XHTML + "html":
        fail("%s: the root element is %s, not an XHTML <html>" % (path, root.tag))
        return
    srcs = [e.get("src") for e in root.iter(XHTML + "img")]
    for src in srcs:
        if src not in svgs:
            fail("%s: <img src=%r> names no SVG of the directory" % (path, src))
    for name in sorted(set(svgs) - set(srcs)):
        fail("%s: does not show %s" % (path, name))


def render(path, out_dir):
    exe = shutil.which("rsvg-convert")
    png = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
    try:
        r = subprocess.run([exe, "-o", png, path], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        fail("%s: rsvg-convert: %s" % (path, e))
        return
    if r.returncode != 0:
        fail("%s: rsvg-convert exited with %d: %s" % (path, r.returncode, r.stderr.strip()))
    elif not os.path.isfile(png) or os.path.getsize(png) == 0:
        fail("%s: rsvg-convert wrote no PNG" % path)
    else:
        with open(png, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                fail("%s: rsvg-convert's output %s is not a PNG" % (path, png))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--png-dir", help="keep the rendered PNGs in this directory")
    a = ap.parse_args()
    if not os.path.isdir(a.dir):
        print("check_plots: FAIL: %s is not a directory" % a.dir, file=sys.stderr)
        return 1
    svgs = sorted(n for n in os.listdir(a.dir) if n.endswith(".svg"))
    for n in svgs:
        check_svg(os.path.join(a.dir, n))
    index = os.path.join(a.dir, "index.html")
    if os.path.isfile(index):
        check_index(index, svgs)
    else:
        fail("%s: missing" % index)
    rendered = shutil.which("rsvg-convert") is not None
    if rendered:
        out = a.png_dir or tempfile.mkdtemp(prefix="actc-plots-")
        os.makedirs(out, exist_ok=True)
        try:
            for n in svgs:
                render(os.path.join(a.dir, n), out)
        finally:
            if not a.png_dir:
                shutil.rmtree(out, ignore_errors=True)
    if failures:
        print("check_plots: %d failure(s) in %s" % (len(failures), a.dir), file=sys.stderr)
        return 1
    print("check_plots: %s: %d SVG(s) and index.html well-formed%s"
          % (a.dir, len(svgs), ", rendered by rsvg-convert" if rendered else " (rsvg-convert not found: not rendered)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
