# tap.sh: a few TAP helpers for the end-to-end scripts.  Sourced.
# Each script prints "ok N - what" / "not ok N - what" lines and exits
# non-zero if any failed; tools/test.sh counts them.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
. "$repo/tools/lib/common.sh"
tap_n=0
tap_failed=0

ok() {  # ok CONDITION-EXIT-CODE DESCRIPTION
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $tap_n - $2"
    else
        echo "not ok $tap_n - $2"
        tap_failed=$((tap_failed + 1))
    fi
}

is() {  # is GOT EXPECTED DESCRIPTION
    tap_n=$((tap_n + 1))
    if [ "$1" == "$2" ]; then
        echo "ok $tap_n - $3"
    else
        echo "not ok $tap_n - $3"
        echo "#   got:      '$1'"
        echo "#   expected: '$2'"
        tap_failed=$((tap_failed + 1))
    fi
}

like() {  # like GOT SUBSTRING DESCRIPTION
    tap_n=$((tap_n + 1))
    if [[ "$1" == *"$2"* ]]; then
        echo "ok $tap_n - $3"
    else
        echo "not ok $tap_n - $3"
        echo "#   got:      '$1'"
        echo "#   expected to contain: '$2'"
        tap_failed=$((tap_failed + 1))
    fi
}

done_testing() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}
