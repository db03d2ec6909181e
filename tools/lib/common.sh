# common.sh: shared by tools/test.sh, tools/demo.sh and bench/*.sh.
# Sourced, not run.  Needs $repo set to the checkout's top directory.

PG_MAJOR=15
stage="$repo/build/stage"

# Installs missing packages (as root) or prints the apt-get line and exits.
ensure_deps() {
    "$repo/tools/deps.sh" || exit $?
}

# Builds everything and installs the extension into build/stage, which the
# throwaway cluster reads through Debian's extension_destdir: no root needed
# and the system's PostgreSQL is left alone.
build_and_stage() {
    make -C "$repo" -s -j"$(nproc)" >/dev/null
    rm -rf "$stage"
    make -C "$repo" -s install DESTDIR="$stage" >/dev/null
    # the server runs as postgres when we are root: let it read the stage
    chmod -R a+rX "$repo/build"
}

# Runs "$@" inside a throwaway PostgreSQL 15 cluster (pg_virtualenv) that
# preloads pg_cron and finds indicina in build/stage.  PG* variables are set
# for the command; the cluster is dropped when it returns.
with_cluster() {
    local libdir
    libdir=$(pg_config --pkglibdir)
    # -t: the cluster lives in a temporary directory even as root, so runs
    # never collide and a killed run leaves nothing in /etc/postgresql
    (cd /tmp && pg_virtualenv -t -v "$PG_MAJOR" \
        -o "shared_preload_libraries=pg_cron" \
        -o "cron.database_name=postgres" \
        -o "extension_destdir=$stage" \
        -o "dynamic_library_path=$stage$libdir:$libdir" \
        -o "max_worker_processes=16" \
        -o "cron.use_background_workers=on" \
        "$@")
}

# A world-readable scratch directory: the server (user postgres) reads the
# files tests and demos generate there.
scratch_dir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/indicina.XXXXXX")
    chmod 755 "$d"
    echo "$d"
}
