-- csv_session.sql: the start of the regress files that read test/data/csv
-- option by option: ISO dates, an empty reject log and a server over that
-- folder.  Set: abs_srcdir, server.
\set root :abs_srcdir '/test/data/csv'
SET datestyle = 'ISO, YMD';
SELECT indicina.clear_load_errors() >= 0 AS cleared;
CREATE SERVER :"server" FOREIGN DATA WRAPPER indicina_csv OPTIONS (root :'root');
