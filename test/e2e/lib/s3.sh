# s3.sh: the test S3 for the end-to-end scripts.  Sourced after tap.sh.
# npm's s3rver keeps the objects; test/e2e/lib/s3front.py, in front of it,
# verifies every SigV4 signature with botocore, answers the multipart
# listing and abort, and injects faults.  Both listen on 127.0.0.1 only,
# are started by s3_start and stopped by s3_stop (call it from the EXIT
# trap).  s3rver is installed into build/node on first use.
#
#   s3_start DIR     sets S3_ENDPOINT S3_REGION S3_KEY S3_SECRET (exported)
#   s3_script_start  what a script over the test S3 starts with (below)
#   s3tool ARGS...   test/e2e/lib/s3tool.py (boto3) against it
#   s3_faults JSON   adds faults (see s3front.py); s3_faults_clear
#   s3_log           the requests the front saw, one JSON object a line
#   s3_stop
S3RVER_VERSION=3.7.1
s3_pids=()

s3_free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

s3_start() {
    local dir=$1 upstream front i
    # shellcheck source=tools/lib/node.sh
    . "$repo/tools/lib/node.sh"
    ensure_node_packages "s3rver@$S3RVER_VERSION" || return 1
    mkdir -p "$dir/store"
    export S3_REGION=af-south-1
    S3_KEY="AKIATEST$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
    S3_SECRET="secret-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    S3_TOKEN_KEY="ASIATEST$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
    S3_TOKEN_SECRET="tsecret-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    S3_TOKEN="token-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    export S3_KEY S3_SECRET S3_TOKEN_KEY S3_TOKEN_SECRET S3_TOKEN
    printf '{"%s": {"secret": "%s"}, "%s": {"secret": "%s", "token": "%s"}}\n' \
        "$S3_KEY" "$S3_SECRET" "$S3_TOKEN_KEY" "$S3_TOKEN_SECRET" "$S3_TOKEN" >"$dir/credentials.json"
    upstream=$(s3_free_port)
    front=$(s3_free_port)
    # s3rver makes its continuation tokens with DES, which OpenSSL 3 keeps
    # in its legacy provider
    node --openssl-legacy-provider "$(node_modules_dir)/s3rver/bin/s3rver.js" -d "$dir/store" -a 127.0.0.1 -p "$upstream" --silent \
        >"$dir/s3rver.log" 2>&1 &
    s3_pids+=($!)
    /usr/bin/python3 "$repo/test/e2e/lib/s3front.py" --port "$front" --upstream "$upstream" \
        --region "$S3_REGION" --credentials "$dir/credentials.json" >"$dir/front.log" 2>&1 &
    s3_pids+=($!)
    export S3_ENDPOINT="http://127.0.0.1:$front" S3_UPSTREAM_PORT=$upstream
    for i in $(seq 1 100); do
        if curl -sf "$S3_ENDPOINT/_front/log" >/dev/null && curl -s -o /dev/null "http://127.0.0.1:$upstream/"; then
            return 0
        fi
        sleep 0.1
    done
    echo "# the test S3 did not start: $(cat "$dir/s3rver.log" "$dir/front.log")"
    return 1
}

# s3_start_tls DIR: a second front, serving HTTPS with a self-signed
# certificate for 127.0.0.1, before the same s3rver; sets S3_TLS_ENDPOINT
# and S3_CA (the certificate, world-readable for the server to read)
s3_start_tls() {
    local dir=$1 port i
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext "subjectAltName=IP:127.0.0.1" -keyout "$dir/tls-key.pem" -out "$dir/tls-cert.pem" 2>/dev/null || return 1
    chmod 644 "$dir/tls-cert.pem"
    port=$(s3_free_port)
    /usr/bin/python3 "$repo/test/e2e/lib/s3front.py" --port "$port" --upstream "$S3_UPSTREAM_PORT" \
        --region "$S3_REGION" --credentials "$dir/credentials.json" \
        --tls-cert "$dir/tls-cert.pem" --tls-key "$dir/tls-key.pem" >"$dir/front-tls.log" 2>&1 &
    s3_pids+=($!)
    export S3_TLS_ENDPOINT="https://127.0.0.1:$port" S3_CA="$dir/tls-cert.pem"
    for i in $(seq 1 100); do
        curl -sf --cacert "$S3_CA" "$S3_TLS_ENDPOINT/_front/log" >/dev/null && return 0
        sleep 0.1
    done
    echo "# the TLS front did not start: $(cat "$dir/front-tls.log")"
    return 1
}

s3tool() {
    /usr/bin/python3 "$repo/test/e2e/lib/s3tool.py" "$@"
}

s3_faults() {
    curl -sf -X POST --data-binary "$1" "$S3_ENDPOINT/_front/faults" >/dev/null
}

s3_faults_clear() {
    curl -sf -X DELETE "$S3_ENDPOINT/_front/faults" >/dev/null
}

s3_log() {
    curl -sf "$S3_ENDPOINT/_front/log"
}

s3_log_clear() {
    curl -sf -X DELETE "$S3_ENDPOINT/_front/log" >/dev/null
}

# s3_script_start: the start of a script over the test S3: $work made
# (scratch_dir), the S3 stopped and $work removed at exit, the test S3
# started under $work/s3 and its TAP line; the script ends if it does not
s3_script_start() {
    work=$(scratch_dir)
    trap 's3_stop; rm -rf "$work"' EXIT
    s3_start "$work/s3" || { ok 1 "the test S3 starts"; done_testing; exit 1; }
    ok 0 "the test S3 starts on 127.0.0.1 (s3rver $S3RVER_VERSION behind the verifying front)"
}

s3_stop() {
    local p
    for p in "${s3_pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${s3_pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    s3_pids=()
}
