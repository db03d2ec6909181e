#!/usr/bin/env bash
# fuzz.sh: every libFuzzer target (ASan + UBSan) runs for a bounded time from
# its seed corpus and finds no crash, no out-of-bounds access, no value that
# fails to round-trip, and (fuzz_reader) no row on which the reader's fast
# path and libcsv disagree.  FUZZ_SECONDS (default 10) per target; run
# longer on demand, e.g. FUZZ_SECONDS=600 tools/test.sh e2e.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
seconds=${FUZZ_SECONDS:-10}

make -C "$repo" -s fuzz >/dev/null 2>&1
ok $? "the fuzz targets build (clang, -fsanitize=fuzzer,address,undefined)"

for target in "$repo"/test/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    corpus=$(scratch_dir)
    seeds="$repo/test/fuzz/corpus"
    [ "$name" = fuzz_reader ] && seeds="$repo/test/fuzz/corpus_reader"
    cp "$seeds/"* "$corpus/" 2>/dev/null
    log="$corpus/log"
    (cd "$corpus" && "$target" -max_total_time="$seconds" -print_final_stats=1 "$corpus" >"$log" 2>&1)
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    ok $rc "$name: ${runs:-0} runs in ${seconds}s, no crash, no round-trip failure"
    [ $rc -eq 0 ] && rm -rf "$corpus" || { grep -E 'round trip|ERROR|SUMMARY' "$log" | head -5 | sed 's/^/# /'; echo "# kept: $corpus"; }
done
done_testing
