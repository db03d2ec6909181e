#!/usr/bin/env bash
# source_layers.sh: src/ keeps the shape docs/architecture.md draws
# (tools/check_layers.py): includes point down the layers only, name their
# folder, and each header declares only what its own .c file defines.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"

out=$(python3 "$repo/tools/check_layers.py" "$repo/src" 2>&1)
rc=$?
is "$rc:$out" "0:" "the tree has no include pointing up and no header declaring another file's symbols"

# the check itself: each kind of violation is found, with its file
copy=$(scratch_dir)
trap 'rm -rf "$copy"' EXIT
cp -R "$repo/src" "$copy/"
echo '#include "quality/rules.h"' >> "$copy/src/fdw/fdw.c"
echo '#include "set_rules.h"' >> "$copy/src/quality/journal.c"
echo 'extern DateADT month_of(DateADT d);' >> "$copy/src/warehouse/month_flows.h"
out=$(python3 "$repo/tools/check_layers.py" "$copy/src" 2>&1)
rc=$?
is "$rc" 1 "a violation fails the check"
like "$out" "src/fdw/fdw.c: #include \"quality/rules.h\" points up: fdw/ sits below quality/" \
     "the FDW including a quality header is refused"
like "$out" "src/quality/journal.c: #include \"set_rules.h\": name its folder" \
     "an include without its folder is refused"
like "$out" "src/warehouse/month_flows.h: declares month_of, which month_flows.c does not define" \
     "a header declaring another file's function is refused"
done_testing
