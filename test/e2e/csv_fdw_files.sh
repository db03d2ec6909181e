#!/usr/bin/env bash
# csv_fdw_files.sh: a file of a table is opened only if it is still the
# file that was resolved under root.  A cursor reads the first of two
# files, the second is then swapped (for a symbolic link out of root, for
# another file, or a directory on its path for a link out of root, even to
# a hard link of the same file), and
# the rest of the fetch must fail with the exact error instead of reading
# what lies outside root.
set -uo pipefail
. "$(dirname "$0")/lib/tap.sh"
work=$(scratch_dir)
trap 'rm -rf "$work"' EXIT
land=$work/landing
mkdir -p "$land/sub" "$work/outside/sub"
printf 'id,name\n1,a one\n2,a two\n' >"$land/a.csv"
printf 'id,name\n3,b three\n' >"$land/b.csv"
printf 'id,name\n4,c four\n' >"$land/sub/c.csv"
printf 'id,name\n666,secret\n' >"$work/outside/secret.csv"
printf 'id,name\n667,secret in sub\n' >"$work/outside/sub/c.csv"
ln -s "$work/outside/secret.csv" "$land/link.csv"
mkdir -p "$work/outside/hl" && ln "$land/sub/c.csv" "$work/outside/hl/c.csv"  # the same inode, outside root
chmod -R a+rX "$work"

db=indicina_files
psql -qX -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q() { psql -qX -At -d "$db" "$@" 2>&1; }
q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION indicina;
CREATE SERVER landing FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '$land');
CREATE FOREIGN TABLE ab (id int, name text) SERVER landing OPTIONS (files 'a.csv, b.csv');
CREATE FOREIGN TABLE a_sub (id int, name text) SERVER landing OPTIONS (files 'a.csv, sub/c.csv');
CREATE FOREIGN TABLE linked (id int, name text) SERVER landing OPTIONS (filename 'link.csv');
SQL

is "$(q -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM ab")" "1 2 3" "both files read before any swap"
is "$(q -c "SELECT * FROM linked")" \
   'ERROR:  file "link.csv" resolves outside the server'"'"'s root directory
DETAIL:  Symbolic links out of the root are refused.' \
   "a symbolic link out of root is refused when the files are resolved"

# fetch from a cursor: the first file is open, the second resolved but not yet opened
swap() {  # swap TABLE SHELL-COMMAND: the cursor's output around the swap
    q <<SQL
BEGIN;
DECLARE c CURSOR FOR SELECT id, name FROM $1;
FETCH 1 FROM c;
\\! $2
FETCH ALL FROM c;
ROLLBACK;
SQL
}

out=$(swap ab "ln -s '$work/outside/secret.csv' '$land/b.new' && mv -T '$land/b.new' '$land/b.csv'")
is "$out" '1|a one
ERROR:  file "b.csv" was replaced by a symbolic link after it was resolved under the server'"'"'s root directory
DETAIL:  A symbolic link is followed only when the table'"'"'s files are resolved, and only within root.
HINT:  Run the query again.' \
   "a file replaced by a symbolic link out of root after resolving: refused at open"
rm "$land/b.csv" && printf 'id,name\n3,b three\n' >"$land/b.csv" && chmod a+r "$land/b.csv"

out=$(swap a_sub "mv '$land/sub' '$land/sub.old' && ln -s '$work/outside/sub' '$land/sub'")
is "$out" '1|a one
ERROR:  file "sub/c.csv" changed after it was resolved under the server'"'"'s root directory
DETAIL:  The file opened is not the one resolved (another device or inode): it, or a directory on its path, was replaced.
HINT:  Run the query again.' \
   "a directory on the path swapped for a symbolic link out of root: the inode differs, refused"
rm "$land/sub" && mv "$land/sub.old" "$land/sub"

# the same, to a directory out of root holding a hard link to the resolved
# file: the device and inode match, the path opened is outside root
out=$(swap a_sub "mv '$land/sub' '$land/sub.old' && ln -s '$work/outside/hl' '$land/sub'")
is "$out" '1|a one
ERROR:  file "sub/c.csv" changed after it was resolved under the server'"'"'s root directory
DETAIL:  The file opened is not under root: a directory on its path was replaced.
HINT:  Run the query again.' \
   "a directory swapped for a link out of root to a hard link of the file: refused by the path opened"
rm "$land/sub" && mv "$land/sub.old" "$land/sub"

out=$(swap ab "cp '$work/outside/secret.csv' '$land/b.new' && mv '$land/b.new' '$land/b.csv'")
like "$out" 'ERROR:  file "b.csv" changed after it was resolved under the server' \
   "a file renamed over the resolved one: refused"
is "$(q -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM ab")" "1 2 666" \
   "and the next query, resolving again, reads the file now there"

psql -qX -c "DROP DATABASE $db" >/dev/null
done_testing
