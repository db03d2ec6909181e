#!/usr/bin/env bash
# deps.sh: without the packages it needs and without root, the commands print
# the exact apt-get line instead of failing obscurely.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"

out=$(INDICINA_ASSUME_NONROOT=1 INDICINA_EXTRA_PACKAGES="indicina-test-missing-a indicina-test-missing-b" \
      "$repo/tools/deps.sh" 2>/dev/null)
rc=$?
is "$rc" 2 "a missing package as non-root exits 2"
is "$out" "apt-get install -y indicina-test-missing-a indicina-test-missing-b" \
   "the exact apt-get line for what is missing is printed"

# the same through the two README commands, as a real unprivileged user
# (from a copy of tools/ that nobody can read: the checkout may be in a 0700 home)
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    copy=$(scratch_dir)
    trap 'rm -rf "$copy"' EXIT
    cp -R "$repo/tools" "$copy/"
    chmod -R a+rX "$copy"
    for cmd in tools/test.sh tools/demo.sh; do
        out=$(cd / && runuser -u nobody -- env INDICINA_EXTRA_PACKAGES=indicina-test-missing-a \
              bash "$copy/$cmd" 2>&1)
        rc=$?
        is "$rc/$(tail -n1 <<<"$out")" "2/apt-get install -y indicina-test-missing-a" \
           "$cmd as user nobody prints the apt-get line and exits 2"
    done
fi

INDICINA_EXTRA_PACKAGES="" "$repo/tools/deps.sh"
is $? 0 "with everything installed it exits 0 quietly"
done_testing
