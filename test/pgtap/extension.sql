-- extension.sql: the extension installs into schema indicina and drops
-- cleanly.  Everything runs in one transaction that is rolled back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(9);

SELECT lives_ok('CREATE EXTENSION indicina', 'CREATE EXTENSION indicina works in a fresh database');
SELECT has_schema('indicina', 'schema indicina exists');
SELECT has_function('indicina', 'version', ARRAY[]::name[], 'indicina.version() exists');
SELECT is(indicina.version(), (SELECT extversion FROM pg_extension WHERE extname = 'indicina'),
          'library version matches the installed extension version');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'indicina'), false,
          'the extension is not relocatable');
SELECT is((SELECT count(*)::int FROM pg_depend WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'indicina') AND deptype = 'e' AND classid = 'pg_namespace'::regclass AND objid = 'indicina'::regnamespace), 1, 'schema indicina is a member of the extension');
SELECT is(
    (SELECT count(*)::int
       FROM pg_depend d, pg_identify_object(d.classid, d.objid, d.objsubid) o
      WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'indicina')
        AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
        AND o.schema IS DISTINCT FROM 'indicina'
        AND o.type NOT IN ('foreign-data wrapper', 'schema')),
    0, 'every object of the extension lives in schema indicina');
SELECT lives_ok('DROP EXTENSION indicina', 'DROP EXTENSION indicina works');
SELECT hasnt_schema('indicina', 'DROP EXTENSION removes schema indicina');

SELECT * FROM finish();
ROLLBACK;
