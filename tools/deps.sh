#!/usr/bin/env bash
# deps.sh: make sure the Debian packages indicina builds, tests and demos with
# are installed.  As root, installs what is missing (apt-get); otherwise
# prints the exact apt-get line to run and exits 2.
#
# INDICINA_EXTRA_PACKAGES adds packages to the list (used by the tests to
# check the message); INDICINA_ASSUME_NONROOT=1 behaves as a non-root user.
set -euo pipefail

packages=(
    make gcc clang libclang-rt-14-dev
    postgresql-15 postgresql-server-dev-15 postgresql-contrib
    postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl postgresql-15-cron
    libcsv-dev zlib1g-dev
    libcurl4-openssl-dev libssl-dev libzstd-dev libxml2-dev curl openssl
    python3 python3-botocore python3-boto3 jq sqlsmith
    nodejs chromium
)
# shellcheck disable=SC2206
packages+=(${INDICINA_EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || [ "${INDICINA_ASSUME_NONROOT:-}" = 1 ]; then
    echo "indicina: missing Debian packages: ${missing[*]}" >&2
    echo "indicina: run as root:" >&2
    echo "apt-get install -y ${missing[*]}"
    exit 2
fi

echo "indicina: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
