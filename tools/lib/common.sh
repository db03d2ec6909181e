# common.sh: shared by tools/test.sh, tools/demo.sh and bench/*.sh.
# Sourced, not run.  Needs $repo set to the checkout's top directory.

PG_MAJOR=15

# What the server reads (the staged extension, pg_regress's fixtures, the
# demo's landing directory) lives in a world-readable directory of its own,
# not in the checkout: the throwaway cluster runs as postgres when we are
# root, and a clone in a 0700 home (root's on Debian) is closed to it.
# build_and_stage makes it and removes it when the calling shell exits;
# the scripts run inside the cluster find it through INDICINA_SERVER_DIR.
server_dir=${INDICINA_SERVER_DIR:-}
stage=${server_dir:+$server_dir/stage}

# Installs missing packages (as root) or prints the apt-get line and exits.
ensure_deps() {
    "$repo/tools/deps.sh" || exit $?
}

# Builds everything and installs the extension into $server_dir/stage,
# which the throwaway cluster reads through Debian's extension_destdir: no
# root needed and the system's PostgreSQL is left alone.  Copies sql/,
# expected/ and test/data next to it for pg_regress (PG_ABS_SRCDIR).
build_and_stage() {
    make -C "$repo" -s -j"$(nproc)" >/dev/null
    if [ -z "$server_dir" ]; then
        server_dir=$(mktemp -d "${TMPDIR:-/tmp}/indicina-server.XXXXXX")
        # shellcheck disable=SC2064
        trap "rm -rf '$server_dir'" EXIT
        export INDICINA_SERVER_DIR="$server_dir"
    fi
    stage="$server_dir/stage"
    rm -rf "$stage" "$server_dir/regress"
    make -C "$repo" -s install DESTDIR="$stage" >/dev/null
    mkdir -p "$server_dir/regress/test"
    # README.md: the target of test/data/csv/outside_link.csv, out of its root
    cp -R "$repo/sql" "$repo/expected" "$repo/README.md" "$server_dir/regress/"
    cp -R "$repo/test/data" "$server_dir/regress/test/"
    chmod -R a+rX "$server_dir"
}

# Runs "$@" inside a throwaway PostgreSQL 15 cluster (pg_virtualenv) that
# preloads pg_cron and finds indicina in $stage.  PG* variables are set
# for the command; the cluster is dropped when it returns.
with_cluster() {
    local libdir port
    libdir=$(pg_config --pkglibdir)
    # a port of our own: clusters made at the same moment by parallel runs
    # would otherwise all pick the first free one
    port=$(free_port)
    # -t: the cluster lives in a temporary directory even as root, so runs
    # never collide and a killed run leaves nothing in /etc/postgresql
    (cd /tmp && pg_virtualenv -t -v "$PG_MAJOR" -c "-p $port" \
        -o "shared_preload_libraries=pg_cron" \
        -o "cron.database_name=postgres" \
        -o "extension_destdir=$stage" \
        -o "dynamic_library_path=$stage$libdir:$libdir" \
        -o "max_worker_processes=16" \
        -o "cron.use_background_workers=on" \
        "$@")
}

# a TCP port nothing listens on, picked at random from 20000-29999
free_port() {
    local p i
    for ((i = 0; i < 50; i++)); do
        p=$((20000 + RANDOM % 10000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ]; then
            echo "$p"
            return 0
        fi
    done
    echo 5432
}

# A world-readable scratch directory: the server (user postgres) reads the
# files tests and demos generate there.
scratch_dir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/indicina.XXXXXX")
    chmod 755 "$d"
    echo "$d"
}
