-- 20_csv_fdw.sql: the indicina_csv foreign-data wrapper and its reject log.

CREATE FUNCTION indicina.csv_handler() RETURNS fdw_handler
    AS 'MODULE_PATHNAME', 'indicina_csv_handler' LANGUAGE C STRICT;
CREATE FUNCTION indicina.csv_validator(text[], oid) RETURNS void
    AS 'MODULE_PATHNAME', 'indicina_csv_validator' LANGUAGE C STRICT;
CREATE FOREIGN DATA WRAPPER indicina_csv
    HANDLER indicina.csv_handler VALIDATOR indicina.csv_validator;
COMMENT ON FOREIGN DATA WRAPPER indicina_csv IS 'CSV landing files: typed, lenient, with every bad row recorded in indicina.load_errors';

-- scan ids come from a sequence: nextval survives the rollback of the scan
CREATE SEQUENCE indicina.scan_id_seq;

-- The reject log lives in a file under the data directory so that it
-- survives rollback (see src/fdw/rejects.c); this function reads it back.
-- The file is the cluster's: a database reads only its own records.
-- relation shows as regclass prints it (schema-qualified when not on the
-- search_path); relation_id is the key to join on; relation_name is the
-- schema-qualified name the relation had when the record was written.
CREATE FUNCTION indicina.read_load_errors(
    OUT scan_id bigint, OUT logged_at timestamptz, OUT relation text, OUT file text,
    OUT line bigint, OUT byte_offset bigint, OUT column_name text, OUT code text,
    OUT message text, OUT raw_value text, OUT raw_line text,
    OUT relation_id oid, OUT relation_name text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'indicina_load_errors' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.read_load_errors() IS 'every row an indicina_csv scan of this database did not load, and why (survives rollback)';

-- WARN:<rule> records flag rows that were loaded: read them with read_load_errors()
CREATE VIEW indicina.load_errors AS
    SELECT * FROM indicina.read_load_errors() WHERE code NOT LIKE 'WARN:%';
COMMENT ON VIEW indicina.load_errors IS 'every row an indicina_csv scan or a rule of this database did not load: scan, relation, file, line, byte offset, column, code, message, raw value and raw line';

CREATE FUNCTION indicina.clear_load_errors() RETURNS bigint
    AS 'MODULE_PATHNAME', 'indicina_clear_load_errors' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.clear_load_errors() IS 'removes this database''s records from the reject log; returns how many there were';
CREATE FUNCTION indicina.clear_load_errors(relation regclass) RETURNS bigint
    AS 'MODULE_PATHNAME', 'indicina_clear_load_errors' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION indicina.clear_load_errors(regclass) IS 'removes the records of relation from the reject log; returns how many there were';

-- the reject log outlives the extension: a re-created extension goes on from its last scan id
SELECT setval('indicina.scan_id_seq', max(scan_id)) FROM indicina.read_load_errors() HAVING max(scan_id) > 0;
