# node.sh: npm packages the tests use (the test S3, the browser driver, the
# benchmark peers), installed on demand into build/node (gitignored, never
# committed) from the npm registry.  Sourced.
#
#   ensure_node_packages s3rver@3.7.1 playwright-core@1.49.1
#       installs whichever of these is missing; prints nothing when all are there
#   node_modules_dir      where they are (for NODE_PATH or require paths)

node_modules_dir() {
    echo "$repo/build/node/node_modules"
}

ensure_node_packages() {
    local prefix="$repo/build/node" want=() spec name have
    command -v npm >/dev/null || { echo "indicina: npm is missing (Debian package nodejs)" >&2; return 2; }
    for spec in "$@"; do
        name=${spec%@*}
        [ -n "$name" ] || name=$spec
        have=$(node -e "try { console.log(require('$prefix/node_modules/$name/package.json').version) } catch (e) {}" 2>/dev/null || true)
        [ "$name@$have" = "$spec" ] || want+=("$spec")
    done
    [ ${#want[@]} -eq 0 ] && return 0
    mkdir -p "$prefix"
    echo "indicina: npm install ${want[*]}" >&2
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "${want[@]}" >&2
}
