#!/usr/bin/env python3
"""check_layers.py: the shape docs/architecture.md promises for src/.

  tools/check_layers.py [SRC_DIR]     (default: src/ of this checkout)

Prints one line per violation and exits 1 if there is any:

- a folder includes only its own headers and those of the folders below
  it, in this order:  core <- coerce <- location <- fdw <- quality <-
  warehouse <- ship.  Only the files at the top of src/ (_PG_init) may
  include every folder's headers.
- our headers are included by their folder: "fdw/fdw.h", never "fdw.h".
- a header declares only what its own .c file defines: x.h declares what
  x.c defines, unless a comment "in y.c" (of the same folder) names the
  file for the declarations that follow it.
"""
import os
import re
import sys

LAYERS = ["core", "coerce", "location", "fdw", "quality", "warehouse", "ship"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
OWNER = re.compile(r"\bin ([a-z_0-9]+\.c)\b")
EXTERN_FUNC = re.compile(r"^extern\b[^;(]*?\b([A-Za-z_]\w*)\s*\(", re.M)
EXTERN_VAR = re.compile(r"^extern\b[^;(]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*;", re.M)


def sources(src):
    for folder, _, names in os.walk(src):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                yield os.path.join(folder, name)


def folder_of(src, path):
    rel = os.path.relpath(path, src)
    return rel.split(os.sep)[0] if os.sep in rel else None


def check_includes(src, path, problems):
    own = folder_of(src, path)
    text = open(path, encoding="utf-8").read()
    for target in INCLUDE.findall(text):
        if "/" not in target:
            if os.path.exists(os.path.join(src, target)) and own is None:
                continue                       # the top's own header
            here = os.path.join(os.path.dirname(path), target)
            if os.path.exists(here) or any(os.path.exists(os.path.join(src, f, target)) for f in LAYERS):
                problems.append(f"{path}: #include \"{target}\": name its folder")
            continue
        folder = target.split("/")[0]
        if not os.path.exists(os.path.join(src, target)):
            continue                           # a PostgreSQL header
        if folder not in LAYERS:
            problems.append(f"{path}: #include \"{target}\": {folder}/ is not a layer of src/")
        elif own is not None and own not in LAYERS:
            problems.append(f"{path}: {own}/ is not a layer of src/")
        elif own is not None and LAYERS.index(folder) > LAYERS.index(own):
            problems.append(f"{path}: #include \"{target}\" points up: {own}/ sits below {folder}/")


def defines(c_text, name, func):
    if func:
        # "name(" opening a line (the return type on the line before), or
        # after the type on the same line, with no ";" ending it
        pattern = rf"^(?:[A-Za-z_][\w\s\*]*?[\s\*])?{name}\s*\([^;]*$"
    else:
        pattern = rf"^(?!extern\b|static\b)[A-Za-z_][\w\s\*]*?\b{name}\b\s*(?:\[[^\]]*\])?\s*(?:=|;)"
    return re.search(pattern, c_text, re.M) is not None


def strip_comments_keep_owner(text):
    """(line, owner-or-None) pairs: comments removed, an 'in x.c' comment noted."""
    out = []
    for block in re.split(r"(/\*.*?\*/)", text, flags=re.S):
        if block.startswith("/*"):
            m = OWNER.search(block)
            out.append(("", m.group(1) if m else None))
            out.append(("\n" * block.count("\n"), None))
        else:
            out.append((block, None))
    return out


def check_header(path, problems):
    folder = os.path.dirname(path)
    base = os.path.basename(path)[:-2] + ".c"
    owner = base
    pending = ""
    for chunk, new_owner in strip_comments_keep_owner(open(path, encoding="utf-8").read()):
        if new_owner:
            owner = new_owner
            continue
        pending = chunk
        for regex, func in ((EXTERN_FUNC, True), (EXTERN_VAR, False)):
            for name in regex.findall(pending):
                c_path = os.path.join(folder, owner)
                if not os.path.exists(c_path):
                    problems.append(f"{path}: declares {name} for {owner}, which {folder}/ does not have")
                elif not defines(open(c_path, encoding="utf-8").read(), name, func):
                    problems.append(f"{path}: declares {name}, which {owner} does not define")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
    src = os.path.normpath(src)
    problems = []
    for path in sources(src):
        check_includes(src, path, problems)
        if path.endswith(".h") and folder_of(src, path) is not None:
            check_header(path, problems)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
