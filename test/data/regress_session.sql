-- regress_session.sql: the session most regress files run in: ISO dates,
-- warnings and errors only, no PL/pgSQL context lines in the output.
SET datestyle = 'ISO, YMD';
SET client_min_messages = warning;
\set SHOW_CONTEXT never
