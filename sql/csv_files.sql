--
-- csv_files: what indicina_csv does with the bytes of a file: line ends
-- (LF, CRLF and a lone CR alike), lines past indicina.max_row_size, NUL
-- bytes in single-byte encodings, gzip streams, libcsv's memory while
-- another scan runs, the reject_limit grammar, and the memory bound of
-- set rules.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set server files_srv
\i :abs_srcdir/test/data/csv_session.sql

CREATE FUNCTION file_rejects() RETURNS TABLE (file text, line bigint, byte_offset bigint, column_name text,
                                              code text, message text, raw_line text)
LANGUAGE sql AS $$
  SELECT file, line, byte_offset, column_name, code, message, raw_line
    FROM indicina.load_errors WHERE scan_id = currval('indicina.scan_id_seq') ORDER BY line $$;

-- 1. a lone CR ends a line as LF and CRLF do: line numbers, offsets, raw
-- text, skip_rows; a CR inside a quoted field stays in the field
CREATE FOREIGN TABLE cr_only (id int, name text, line bigint OPTIONS (source 'line'),
                              off bigint OPTIONS (source 'byte_offset'))
    SERVER files_srv OPTIONS (filename 'cr_only.csv', on_error 'reject');
SELECT id, replace(name, E'\r', '<CR>') AS name, line, off FROM cr_only ORDER BY line;
SELECT line, byte_offset, column_name, code, raw_line FROM file_rejects();
SELECT count(*) FROM cr_only;
CREATE FOREIGN TABLE cr_preamble (id int, name text, line bigint OPTIONS (source 'line'))
    SERVER files_srv OPTIONS (filename 'cr_preamble.csv', skip_rows '2');
SELECT * FROM cr_preamble;
CREATE FOREIGN TABLE line_ends (id int, name text, line bigint OPTIONS (source 'line'),
                                off bigint OPTIONS (source 'byte_offset'))
    SERVER files_srv OPTIONS (filename 'line_ends_mixed.csv');
SELECT id, replace(replace(name, E'\r', '<CR>'), E'\n', '<LF>') AS name, line, off FROM line_ends ORDER BY line;

-- 2. a physical line longer than indicina.max_row_size: rejected as
-- ROW_TOO_LONG without being held whole, and the scan goes on at the next
-- line (the last line has no line end)
CREATE FOREIGN TABLE long_line (id int, name text, line bigint OPTIONS (source 'line'))
    SERVER files_srv OPTIONS (filename 'long_line.csv', on_error 'reject');
SET indicina.max_row_size = '1kB';
SELECT id, length(name), line FROM long_line;
SELECT line, byte_offset, code, message, length(raw_line) AS raw_bytes, left(raw_line, 8) AS raw_start
  FROM file_rejects();
ALTER FOREIGN TABLE long_line OPTIONS (SET on_error 'stop');
SELECT id, length(name), line FROM long_line;
RESET indicina.max_row_size;
SELECT id, length(name), line FROM long_line;

-- 3. a NUL byte in a LATIN1 file is rejected, as in a UTF-8 file
CREATE FOREIGN TABLE latin1_nul (id int, name text) SERVER files_srv
    OPTIONS (filename 'latin1_nul.csv', encoding 'LATIN1', on_error 'reject');
SELECT * FROM latin1_nul;
SELECT line, code, message, raw_line FROM file_rejects();
ALTER FOREIGN TABLE latin1_nul OPTIONS (ADD invalid_utf8 'replace');
SELECT id, name, length(name) FROM latin1_nul;
ALTER FOREIGN TABLE latin1_nul OPTIONS (SET encoding 'WIN1252', DROP invalid_utf8);
SELECT * FROM latin1_nul;
SELECT line, code, message FROM file_rejects();

-- 4. gzip: members one after another read as one stream; a truncated
-- stream and a bad checksum are errors that name the file
CREATE FOREIGN TABLE gz_multi (id int, name text, line bigint OPTIONS (source 'line'))
    SERVER files_srv OPTIONS (filename 'gz_multi.csv.gz');
SELECT * FROM gz_multi;
CREATE FOREIGN TABLE gz_truncated (id int, name text) SERVER files_srv OPTIONS (filename 'gz_truncated.csv.gz');
SELECT count(*) FROM gz_truncated;
CREATE FOREIGN TABLE gz_bad_crc (id int, name text) SERVER files_srv OPTIONS (filename 'gz_bad_crc.csv.gz');
SELECT count(*) FROM gz_bad_crc;

-- 5. libcsv's buffer stays in its own scan's memory while a function in
-- the select list runs another scan between two of its rows
CREATE FOREIGN TABLE quoted_big (a int, b text) SERVER files_srv OPTIONS (filename 'quoted_big.csv.gz');
CREATE FOREIGN TABLE quoted_small (k text, v text) SERVER files_srv OPTIONS (filename 'quoted_small.csv');
CREATE FUNCTION count_small() RETURNS bigint LANGUAGE sql VOLATILE
    AS 'SELECT count(*) FROM quoted_small WHERE v IS NOT NULL';
SELECT a, length(b), md5(b) = md5(repeat('q' || a, 100000)) AS intact, count_small() FROM quoted_big;

-- 6. reject_limit: a positive count of rows or a percentage in (0, 100]
CREATE FOREIGN TABLE rl (id text) SERVER files_srv OPTIONS (filename 'basic.csv', on_error 'skip');
\set VERBOSITY terse
-- each of these is refused: one ALTER a value, in this order
SELECT format('ALTER FOREIGN TABLE rl OPTIONS (ADD reject_limit %L)', v)
  FROM unnest(ARRAY['1e30', 'inf', 'nan', '-1', '0', '0%', '100.5%', '101%', '', '12abc', '1.5', ' 5', '1e2%',
                    '9223372036854775808']) WITH ORDINALITY AS u(v, i) ORDER BY i \gexec
CREATE FOREIGN TABLE rl2 (id text) SERVER files_srv OPTIONS (filename 'basic.csv', on_error 'skip', reject_limit 'inf');
\set VERBOSITY default
ALTER FOREIGN TABLE rl OPTIONS (ADD reject_limit '1e30');
ALTER FOREIGN TABLE rl OPTIONS (ADD reject_limit '1');
ALTER FOREIGN TABLE rl OPTIONS (SET reject_limit '100%');
ALTER FOREIGN TABLE rl OPTIONS (SET reject_limit '0.5%');
ALTER FOREIGN TABLE rl OPTIONS (SET reject_limit '9223372036854775807');
EXPLAIN (COSTS OFF) SELECT * FROM rl;
SELECT count(*) FROM rl;

-- 7. set rules keep their fingerprints within work_mem x hash_mem_multiplier
CREATE FOREIGN TABLE many_ids (id int NOT NULL) SERVER files_srv OPTIONS (filename 'many_ids.csv', on_error 'reject');
SELECT indicina.add_rule('many_ids_unique', 'many_ids', 'unique', '{id}') IS NOT NULL AS added;
SELECT rule, rows_checked, rows_failed FROM indicina.check('many_ids');
BEGIN;
SET LOCAL work_mem = '64kB';
SET LOCAL hash_mem_multiplier = 1;
SELECT rule, rows_checked, rows_failed FROM indicina.check('many_ids');
ROLLBACK;
-- a references rule whose referenced values do not fit is judged by SQL
CREATE TABLE known_ids (id int);
INSERT INTO known_ids SELECT g FROM generate_series(2, 3000) g;
SELECT indicina.add_rule('many_ids_known', 'many_ids', 'references', '{id}', '{"relation": "known_ids"}')
       IS NOT NULL AS added;
SELECT indicina.drop_rule('many_ids', 'many_ids_unique');
BEGIN;
SET LOCAL work_mem = '64kB';
SET LOCAL hash_mem_multiplier = 1;
SELECT indicina.arm_set_rules('many_ids') AS armed_past_hash_mem;
SELECT rule, rows_checked, rows_failed, samples FROM indicina.check('many_ids');
ROLLBACK;
SELECT indicina.arm_set_rules('many_ids') AS armed;
SELECT rule, rows_checked, rows_failed, samples FROM indicina.check('many_ids');

DROP SERVER files_srv CASCADE;
DROP FUNCTION file_rejects();
DROP FUNCTION count_small();
DROP TABLE known_ids;
