--
-- extension: CREATE EXTENSION works in a fresh database, every object lands
-- in schema indicina, DROP EXTENSION removes everything, the GUC prefix is
-- reserved.
--
CREATE EXTENSION indicina;

SELECT extname, extversion = indicina.version() AS library_matches, extrelocatable,
       (SELECT count(*) FROM pg_namespace WHERE nspname = 'indicina') AS indicina_schemas
  FROM pg_extension WHERE extname = 'indicina';

-- objects of the extension outside schema indicina (none may be: the
-- foreign-data wrapper and the schema itself have no schema)
SELECT o.type, o.schema, o.identity
  FROM pg_depend d, pg_identify_object(d.classid, d.objid, d.objsubid) o
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'indicina')
   AND d.deptype = 'e'
   AND o.schema IS DISTINCT FROM 'indicina'
   AND o.type NOT IN ('foreign-data wrapper', 'schema')
 ORDER BY 1, 3;

-- the prefix indicina.* belongs to the extension once it is loaded
SET indicina.no_such_setting = 'x';

DROP EXTENSION indicina;
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname = 'indicina';
SELECT count(*) AS functions_left FROM pg_proc WHERE proname = 'version'
   AND pronamespace::regnamespace::text = 'indicina';

-- and it comes back for the tests that follow
CREATE EXTENSION indicina;
SELECT count(*) > 0 AS has_objects FROM pg_depend
 WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'indicina') AND deptype = 'e';
