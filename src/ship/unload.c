/*-------------------------------------------------------------------------
 *
 * unload.c
 *		The C side of indicina.unload() (src/sql/50_unload.sql): writing
 *		the parts of every table of a delivery from one snapshot, and
 *		then its small files (manifests, unload.json, the Redshift SQL);
 *		the setting indicina.redshift_slices.
 *
 * unload_write reads every table's query through SPI, read-only, so each
 * runs under the snapshot of the one statement that called it: the tables
 * of a delivery are consistent with each other whatever commits meanwhile.
 * It counts each query's rows first (so the parts split evenly), then
 * writes them through a part writer and returns one row per part.
 * unload_write_files commits whole files in the order given: the caller
 * names the manifests first and unload.json last.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/timestamp.h"

#include "ship/ship.h"

int			indicina_redshift_slices = 2;

#define FETCH_ROWS 1000

void
ship_init(void)
{
	DefineCustomIntVariable("indicina.redshift_slices",
							"The Redshift cluster's number of slices: an unload writes at least one part per slice.",
							"unload() uses it when its slices argument is not given.",
							&indicina_redshift_slices,
							2, 1, 65536,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

static ShipCompression
parse_compression(const char *s)
{
	if (strcmp(s, "gzip") == 0)
		return SHIP_GZIP;
	if (strcmp(s, "zstd") == 0)
		return SHIP_ZSTD;
	if (strcmp(s, "none") == 0)
		return SHIP_NONE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid compression \"%s\"", s),
			 errhint("Valid values are gzip, zstd and none.")));
	return SHIP_NONE;			/* keep the compiler quiet */
}

/* the elements of a text[] argument, palloc'd, NULL elements refused */
static char **
text_array(ArrayType *a, int *n, const char *what)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;
	int			i;

	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what)));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

/* the rows query returns, under the calling statement's snapshot */
static int64
count_rows(const char *query)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute(psprintf("SELECT count(*) FROM (%s) q", query), true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not count the rows of an unload query");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_freetuptable(SPI_tuptable);
	return DatumGetInt64(d);
}

/* the indexes of the comma-separated key columns among the query's */
static int *
key_indexes(TupleDesc td, const char *table, const char *keys, int *nkeys)
{
	char	   *list = pstrdup(keys);
	char	   *tok,
			   *save;
	int		   *out = palloc(sizeof(int) * td->natts);

	*nkeys = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		int			i;

		for (i = 0; i < td->natts; i++)
			if (strcmp(NameStr(TupleDescAttr(td, i)->attname), tok) == 0)
				break;
		if (i == td->natts)
			elog(ERROR, "key column \"%s\" of table \"%s\" is not unloaded", tok, table);
		out[(*nkeys)++] = i;
	}
	return out;
}

/*
 * Writes the parts of one table: its query's rows, through a writer in
 * mcxt.  Returns the writer, whose parts and columns say what was written.
 */
static PartWriter *
write_table(Destination *dest, const char *table, const char *query, const char *keys,
			ShipCompression compression, int slices, int64 max_part_size, bool ship_empty,
			MemoryContext mcxt)
{
	int64		total = count_rows(query);
	SPIPlanPtr	plan;
	Portal		portal;
	TupleDesc	td;
	ShipColumn *cols;
	int		   *key_idx;
	int			nkeys;
	int			i;
	PartWriter *w;
	Datum	   *values;
	bool	   *nulls;
	MemoryContext old;

	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the unload query of table \"%s\": %s", table,
			 SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	td = portal->tupDesc;
	old = MemoryContextSwitchTo(mcxt);
	cols = palloc0(sizeof(ShipColumn) * td->natts);
	for (i = 0; i < td->natts; i++)
		ship_column_init(&cols[i], table, NameStr(TupleDescAttr(td, i)->attname), TupleDescAttr(td, i)->atttypid);
	key_idx = key_indexes(td, table, keys, &nkeys);
	values = palloc(sizeof(Datum) * td->natts);
	nulls = palloc(sizeof(bool) * td->natts);
	w = part_writer_create(dest, table, &csv_format, compression, td->natts, cols, nkeys, key_idx,
						   total, slices, max_part_size, mcxt);
	MemoryContextSwitchTo(old);
	for (;;)
	{
		uint64		r;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (r = 0; r < SPI_processed; r++)
		{
			CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, values, nulls);
			part_writer_add_row(w, values, nulls);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	part_writer_finish(w, ship_empty);
	return w;
}

/* one result row per part of w, which took seconds */
static void
emit_parts(Tuplestorestate *ts, TupleDesc rtd, PartWriter *w, double seconds)
{
	ListCell   *lc;
	Datum	   *widths = palloc(sizeof(Datum) * w->ncolumns);
	bool	   *wnulls = palloc(sizeof(bool) * w->ncolumns);
	int			dims[1] = {w->ncolumns};
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < w->ncolumns; i++)
	{
		widths[i] = Int32GetDatum(w->columns[i].max_bytes);
		wnulls[i] = w->columns[i].kind != SHIP_TEXT;
	}
	foreach(lc, w->parts)
	{
		PartInfo   *p = (PartInfo *) lfirst(lc);
		Datum		v[10];
		bool		n[10] = {0};

		v[0] = CStringGetTextDatum(w->table);
		v[1] = Int32GetDatum(p->number);
		v[2] = CStringGetTextDatum(p->url);
		v[3] = CStringGetTextDatum(p->relpath);
		v[4] = Int64GetDatum(p->rows);
		v[5] = Int64GetDatum(p->bytes);
		v[6] = Int64GetDatum(p->raw_bytes);
		v[7] = CStringGetTextDatum(p->sha256);
		v[8] = PointerGetDatum(construct_md_array(widths, wnulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
		v[9] = Float8GetDatum(seconds);
		tuplestore_putvalues(ts, rtd, v, n);
	}
}

/* the first row of meta_query's one-column result, as text, under the same snapshot */
static void
emit_meta(Tuplestorestate *ts, TupleDesc rtd, const char *meta_query)
{
	Datum		v[10] = {0};
	bool		n[10];
	char	   *s;
	int			i;

	if (SPI_execute(meta_query, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "the meta query of an unload returned no row");
	s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	for (i = 0; i < 10; i++)
		n[i] = true;
	if (s)
	{
		v[2] = CStringGetTextDatum(s);
		n[2] = false;
	}
	SPI_freetuptable(SPI_tuptable);
	tuplestore_putvalues(ts, rtd, v, n);
}

/*
 * indicina.unload_write(server, base, tables text[], queries text[],
 * keys text[], compression, slices, max_part_size, url_prefix, ship_empty,
 * meta_query): the parts of every table into <root>/<base>/<table>/, base
 * new.  keys: each table's row key, comma-separated column names (for
 * errors).  ship_empty: a table without rows gets one empty part.
 * meta_query (NULL: none) is run first, under the same snapshot: its value
 * comes back as the url of a first row whose other columns are NULL.
 * Returns (table_name, part, url, path, rows, bytes, raw_bytes, sha256,
 * widths, seconds): widths the longest value in bytes of each text column,
 * NULL for others; seconds the table's.
 */
PG_FUNCTION_INFO_V1(indicina_unload_write);
Datum
indicina_unload_write(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *server = NameStr(*PG_GETARG_NAME(0));
	char	   *base = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			ntables,
				nqueries,
				nkeys;
	char	  **tables = text_array(PG_GETARG_ARRAYTYPE_P(2), &ntables, "tables");
	char	  **queries = text_array(PG_GETARG_ARRAYTYPE_P(3), &nqueries, "queries");
	char	  **keys = text_array(PG_GETARG_ARRAYTYPE_P(4), &nkeys, "keys");
	ShipCompression compression = parse_compression(text_to_cstring(PG_GETARG_TEXT_PP(5)));
	int			slices = PG_GETARG_INT32(6);
	int64		max_part_size = PG_GETARG_INT64(7);
	char	   *url_prefix = PG_ARGISNULL(8) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(8));
	bool		ship_empty = PG_GETARG_BOOL(9);
	char	   *meta_query = PG_ARGISNULL(10) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(10));
	MemoryContext cxt;
	Destination *dest;
	int			i;

	if (ntables != nqueries || ntables != nkeys)
		elog(ERROR, "unload_write needs as many queries and keys as tables");
	if (slices < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slices must be at least 1")));
	if (max_part_size < 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_part_size must be at least 1024 bytes")));
	for (i = 0; i < ntables; i++)
		destination_check_name("table", tables[i]);
	InitMaterializedSRF(fcinfo, 0);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "indicina unload", ALLOCSET_DEFAULT_SIZES);
	dest = destination_open(server, base, url_prefix, true, cxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (meta_query)
	{
		MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);

		emit_meta(rsinfo->setResult, rsinfo->setDesc, meta_query);
		MemoryContextSwitchTo(old);
	}
	for (i = 0; i < ntables; i++)
	{
		TimestampTz start = GetCurrentTimestamp();
		PartWriter *w = write_table(dest, tables[i], queries[i], keys[i], compression, slices,
									max_part_size, ship_empty, cxt);
		MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		long		secs;
		int			usecs;

		TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
		emit_parts(rsinfo->setResult, rsinfo->setDesc, w, secs + usecs / 1e6);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(w->mcxt);
	}
	SPI_finish();
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/*
 * indicina.unload_write_files(server, base, url_prefix, paths text[],
 * contents text[]): each file written whole and committed, in the order
 * given, under the existing delivery base.  Returns their URLs.
 */
PG_FUNCTION_INFO_V1(indicina_unload_write_files);
Datum
indicina_unload_write_files(PG_FUNCTION_ARGS)
{
	char	   *server = NameStr(*PG_GETARG_NAME(0));
	char	   *base = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *url_prefix = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	int			npaths,
				ncontents;
	char	  **paths = text_array(PG_GETARG_ARRAYTYPE_P(3), &npaths, "paths");
	char	  **contents = text_array(PG_GETARG_ARRAYTYPE_P(4), &ncontents, "contents");
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "indicina unload files", ALLOCSET_DEFAULT_SIZES);
	Destination *dest;
	Datum	   *urls;
	int			i;

	if (npaths != ncontents)
		elog(ERROR, "unload_write_files needs as many contents as paths");
	dest = destination_open(server, base, url_prefix, false, cxt);
	urls = palloc(sizeof(Datum) * Max(npaths, 1));
	for (i = 0; i < npaths; i++)
	{
		CHECK_FOR_INTERRUPTS();
		urls[i] = CStringGetTextDatum(destination_write_whole(dest, paths[i], contents[i], strlen(contents[i])));
	}
	MemoryContextDelete(cxt);
	PG_RETURN_ARRAYTYPE_P(construct_array(urls, npaths, TEXTOID, -1, false, TYPALIGN_INT));
}
