# checked.sh: the checking server for `tools/test.sh checked`.  Sourced by
# tools/test.sh after common.sh, not run.
#
# Debian's own source of PostgreSQL 15 (apt-get source), configured with
# --enable-cassert --enable-debug and built with ASan + UBSan, installed
# under build/checked-pg/<source version>/install and kept there between
# runs.  pg_cron is built from Debian's source against it, pgTAP's SQL files
# are copied in, and indicina is built with the same flags.

checked_root="$repo/build/checked-pg"
# the checked build's own tools (pg_config, psql, initdb) are sanitized too:
# their exit-time leak reports are noise, and would change exit codes
export ASAN_OPTIONS=detect_leaks=0
checked_sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer"

# Adds deb-src lines for the archives apt already uses (in a file of our
# own, copied from the deb entries) so apt-get source works.
checked_ensure_deb_src() {
    local f=/etc/apt/sources.list.d/indicina-deb-src.sources src
    if apt-cache showsrc "postgresql-$PG_MAJOR" 2>/dev/null | grep -c '^Version:' >/dev/null; then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || { echo "checked: no deb-src entry for postgresql-$PG_MAJOR; run once as root" >&2; return 1; }
    for src in /etc/apt/sources.list.d/*.sources; do
        [ -f "$src" ] && [ "$src" != "$f" ] || continue
        case "$src" in *.disabled*) continue ;; esac
        sed -e 's/^Types: deb$/Types: deb-src/' "$src"
        echo
    done >"$f"
    if [ -f /etc/apt/sources.list ]; then
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >/etc/apt/sources.list.d/indicina-deb-src.list
    fi
    apt-get update -qq
}

# The packages configure and the build need, beyond what deps.sh installs.
checked_ensure_build_deps() {
    local missing=() p
    for p in dpkg-dev bison flex libreadline-dev zlib1g-dev libssl-dev libicu-dev pkg-config; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "checked: missing packages; run: sudo apt-get install ${missing[*]}" >&2
        return 1
    fi
}

# Fetches Debian's source of package $1 into $2 (unpacked, patches applied):
# the installed server's version if the archive still has it, else the
# newest version the archive serves (a security update's source may be gone
# from the mirror).  Prints the source directory.
checked_fetch_source() {
    local pkg=$1 dir=$2 want v
    mkdir -p "$dir"
    if ! ls -d "$dir"/*/debian >/dev/null 2>&1; then
        want=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
        for v in $want $(apt-cache showsrc "$pkg" | sed -n 's/^Version: //p' | sort -rV); do
            rm -rf "${dir:?}"/*
            (cd "$dir" && apt-get source -qq "$pkg=$v" >/dev/null 2>&1) && break
            echo "checked: no source of $pkg $v on the mirror" >&2
        done
    fi
    ls -d "$dir"/*/debian >/dev/null 2>&1 || return 1
    dirname "$(ls -d "$dir"/*/debian | head -1)"
}

# Builds (once) and prints the checked server's prefix.  An interrupted
# build goes on where it stopped.
checked_build_server() {
    local ver src pfx log
    # keyed by the version fetched: a finished build of it is used as is
    for pfx in "$checked_root"/*/postgresql; do
        if [ -f "$pfx/.built" ]; then
            echo "$pfx"
            return 0
        fi
    done
    src=$(ls -d "$checked_root"/*/src/config.status 2>/dev/null | head -1)
    if [ -n "$src" ]; then
        src=$(dirname "$src")
        ver=$(basename "$(dirname "$src")")
    else
        checked_ensure_deb_src
        checked_ensure_build_deps
        mkdir -p "$checked_root/fetch"
        src=$(checked_fetch_source postgresql-$PG_MAJOR "$checked_root/fetch") || {
            echo "checked: apt-get source postgresql-$PG_MAJOR failed" >&2; return 1; }
        ver=$(cd "$src" && dpkg-parsechangelog -S Version)
        mkdir -p "$checked_root/$ver"
        rm -rf "$checked_root/$ver/src"
        mv "$src" "$checked_root/$ver/src"
        rm -rf "$checked_root/fetch"
        src="$checked_root/$ver/src"
    fi
    # a prefix with "postgres" in it: Debian's 50-per-version-dirs patch
    # would otherwise hard-wire pkglibdir to the system's /usr/lib/postgresql
    pfx="$checked_root/$ver/postgresql"
    log="$checked_root/$ver/build.log"
    echo "checked: building PostgreSQL $ver with cassert, ASan, UBSan (log: $log)" >&2
    (checked_compile "$src" "$pfx" "$checked_root/$ver/destdir") >>"$log" 2>&1 || {
        echo "checked: build failed, see $log" >&2; return 1; }
    touch "$pfx/.built"
    echo "$pfx"
}

# configure, make and make install of the source in $1 for prefix $2.
# Nothing is written outside the prefix: installed through the DESTDIR $3,
# which must hold nothing else, then moved into place.
checked_compile() {
    local src=$1 pfx=$2 dest=$3 stale
    cd "$src" || return 1
    if ! grep -qF -- "'--prefix=$pfx'" config.status 2>/dev/null; then
        ./configure --prefix="$pfx" --enable-cassert --enable-debug \
            --with-openssl --with-icu --without-llvm --with-system-tzdata=/usr/share/zoneinfo \
            CFLAGS="-O1 -g $checked_sanitize" LDFLAGS="$checked_sanitize" || return 1
    fi
    [ "$(printf 'top_builddir = .\ninclude src/Makefile.global\nx:\n\t@echo $(pkglibdir)\n' | make -s -f - x)" = "$pfx/lib" ] || {
        echo "checked: pkglibdir is not under $pfx; refused" >&2; return 1; }
    make -j2 || return 1
    # a tree first configured for another prefix: programs linked before
    # (make relinks them only when their own objects change) still name the
    # old directories; relink them
    stale=$(grep -rlaF --include='*' "/usr/lib/postgresql/" src --exclude='*.[choy]' --exclude='*.in' \
                --exclude='*.sgml' --exclude='Makefile*' --exclude='*.p[lm]' --exclude='*.mk' | xargs -r file | grep -E 'ELF' | cut -d: -f1)
    if [ -n "$stale" ]; then
        rm -f $stale
        make -j2 || return 1
    fi
    if grep -rlaF "/usr/lib/postgresql/$PG_MAJOR/lib" src/backend/postgres src/bin/pg_config/pg_config >/dev/null; then
        echo "checked: the build names the system's /usr/lib/postgresql; refused" >&2
        return 1
    fi
    rm -rf "$dest"
    make install DESTDIR="$dest" || return 1
    if [ -n "$(find "$dest" -path "$dest$pfx" -prune -o -type f -print | head -1)" ]; then
        echo "checked: make install wrote outside $pfx; refused" >&2
        return 1
    fi
    rm -rf "$pfx"
    mv "$dest$pfx" "$pfx" && rm -rf "$dest"
}

# Builds pg_cron from Debian's source against the checked server (once);
# returns non-zero when the source cannot be fetched: the mode then runs
# without it and pipeline.sh skips its pg_cron tests.
checked_build_pg_cron() {
    local pfx=$1 dir="$checked_root/pg_cron" src
    [ -f "$pfx/lib/pg_cron.so" ] && return 0
    src=$(checked_fetch_source pg-cron "$dir") || {
        echo "checked: Debian's source of pg_cron is not on the mirror: its tests are skipped" >&2
        rm -rf "$dir"
        return 1
    }
    (cd "$src" && make PG_CONFIG="$pfx/bin/pg_config" -j2 && make PG_CONFIG="$pfx/bin/pg_config" install) \
        >"$dir/build.log" 2>&1 || { echo "checked: pg_cron build failed, see $dir/build.log" >&2; return 1; }
}

# Builds indicina with the checked server's pg_config (so its cassert and
# sanitizer flags) in a copy of the sources, leaving the checkout's own
# objects alone, and installs it and pgTAP's SQL files into the prefix.
checked_build_extension() {
    local pfx=$1 dir="$checked_root/extension"
    [ "$("$pfx/bin/pg_config" --pkglibdir)" = "$pfx/lib" ] || {
        echo "checked: $pfx/bin/pg_config installs outside $pfx; refused" >&2; return 1; }
    rm -rf "$dir"
    mkdir -p "$dir/tools"
    cp -R "$repo/Makefile" "$repo/indicina.control" "$repo/src" "$dir/"
    cp -R "$repo/tools/gen" "$dir/tools/"
    make -C "$dir" -s -j2 PG_CONFIG="$pfx/bin/pg_config" WERROR= >"$checked_root/extension.log" 2>&1 &&
        make -C "$dir" -s install PG_CONFIG="$pfx/bin/pg_config" >>"$checked_root/extension.log" 2>&1 || {
        echo "checked: indicina build failed, see $checked_root/extension.log" >&2; return 1; }
    cp /usr/share/postgresql/$PG_MAJOR/extension/pgtap* "$pfx/share/extension/"
}

# A free TCP port on loopback (the cluster listens on its socket and there).
checked_free_port() {
    local p
    for p in $(seq 55432 55532); do
        (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

# Sanitizer and assertion reports in a server log: prints "asan ubsan
# traps chunk crashes".
checked_count_reports() {
    local f=$1
    echo "$(grep -c 'ERROR: AddressSanitizer' "$f") $(grep -c 'runtime error:' "$f")" \
         "$(grep -c 'TRAP:' "$f") $(grep -c 'detected write past chunk end' "$f")" \
         "$(grep -c 'terminated by signal' "$f")"
}

# tools/test.sh checked [SUITE]: the suites against the checking server.
checked_run() {
    local suites=$1 pfx cron=1 dir port as="" rc=0 counts
    pfx=$(checked_build_server) || return 1
    checked_build_pg_cron "$pfx" || cron=0
    checked_build_extension "$pfx" || return 1
    make -C "$repo" -s -j"$(nproc)" >/dev/null   # tools/indicina-gen, for the e2e tests
    dir=$(mktemp -d "${TMPDIR:-/tmp}/indicina-checked.XXXXXX")
    chmod 755 "$dir"
    # shellcheck disable=SC2064
    trap "checked_stop '$dir'; rm -rf '$dir' '${server_dir:-}'" EXIT
    # the server must not run as root: as postgres then, from a copy of the
    # build if postgres cannot read the checkout
    if [ "$(id -u)" -eq 0 ]; then
        as="runuser -u postgres --"
        if ! $as test -x "$pfx/bin/postgres"; then
            cp -a "$pfx" "$dir/pg"
            pfx="$dir/pg"
            chmod -R a+rX "$pfx"
        fi
        chown postgres "$dir"
    fi
    export INDICINA_CHECKED_BIN="$pfx/bin" INDICINA_CHECKED_AS="$as"
    port=$(checked_free_port)
    $as "$pfx/bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2; return 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
max_worker_processes = 16
log_line_prefix = '%m [%p] '
$([ "$cron" = 1 ] && printf "%s\n" "shared_preload_libraries = 'pg_cron'" "cron.database_name = 'postgres'" "cron.use_background_workers = on")
CONF
    # ASan stops a backend at its first report (the report is what counts);
    # UBSan goes on after printing, with a stack
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:print_summary=1 \
    UBSAN_OPTIONS=print_stacktrace=1:print_summary=1 \
        $as "$pfx/bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 start >/dev/null || {
        tail -30 "$dir/server.log" >&2; return 1; }
    echo "checked: PostgreSQL $("$pfx/bin/postgres" -V | awk '{ print $3 }') with cassert, ASan and UBSan on port $port" \
         "(pg_cron: $([ "$cron" = 1 ] && echo built || echo skipped)); server log $dir/server.log"
    (
        export PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
        export PATH="$pfx/bin:$PATH" PG_CONFIG="$pfx/bin/pg_config"
        export INDICINA_SERVER_LOG="$dir/server.log" INDICINA_CHECKED=1
        export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1
        "$repo/tools/test.sh" --inside-cluster "$suites"
    ) || rc=$?
    $as "$pfx/bin/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null 2>&1 || true
    cp "$dir/server.log" "$repo/build/test-logs/checked-server.log" 2>/dev/null || true
    read -r asan ubsan traps chunk crashes <<<"$(checked_count_reports "$dir/server.log")"
    echo "checked server log: $asan AddressSanitizer reports, $ubsan UBSan runtime errors," \
         "$traps assertion failures (TRAP:), $chunk 'detected write past chunk end', $crashes backends terminated by a signal"
    if [ $((asan + ubsan + traps + chunk)) -gt 0 ]; then
        grep -E -m 20 -B2 -A25 'ERROR: AddressSanitizer|runtime error:|TRAP:|detected write past chunk end' \
            "$dir/server.log" | head -150
        echo "(whole log: build/test-logs/checked-server.log)"
        rc=1
    fi
    return "$rc"
}

checked_stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    ${INDICINA_CHECKED_AS:-} "$INDICINA_CHECKED_BIN/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null 2>&1 || true
}
