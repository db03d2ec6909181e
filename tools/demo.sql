-- demo.sql: run by tools/demo.sh inside the throwaway cluster.
-- :landing is the generated landing directory, :out where result files go.
\pset footer off
\echo == installing the extension
CREATE EXTENSION IF NOT EXISTS indicina;
SELECT extname AS extension, extversion AS version, indicina.version() AS library
  FROM pg_extension WHERE extname = 'indicina';
