-- indicina install script, assembled from src/sql/*.sql by the Makefile.
-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION indicina" to load this file. \quit

-- The control file names pg_catalog, as pg_cron's does, and the script
-- creates schema indicina: a schema CREATE EXTENSION makes from the control
-- file is not a member of the extension, and DROP EXTENSION would leave it
-- behind.  Every object below is schema-qualified.
CREATE SCHEMA indicina;

COMMENT ON SCHEMA indicina IS 'indicina: CSV landing files to a validated credit-risk warehouse';

CREATE FUNCTION indicina.version() RETURNS text
    AS 'MODULE_PATHNAME', 'indicina_version'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION indicina.version() IS 'version of the loaded indicina shared library';
