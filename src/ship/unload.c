/*-------------------------------------------------------------------------
 *
 * unload.c
 *		The C side of indicina.unload() (src/sql/50_unload.sql): planning
 *		the shares of every table of a delivery (unload_workers.c writes
 *		them), then its small files (manifests, unload.json, the Redshift
 *		SQL); the settings indicina.redshift_slices, unload_workers and
 *		unload_worker_rows.
 *
 * unload_write reads every table through SPI, read-only, so each query
 * runs under the snapshot of the one statement that called it (and its
 * parallel workers under the same): the tables of a delivery are
 * consistent with each other whatever commits meanwhile.  It counts each
 * table's rows first, so its parts split evenly: with workers, by ranges of
 * blocks, to cut a large table into shares of about equal rows.  It returns
 * one row per part.  unload_write_files commits whole files in the order
 * given: the caller names the manifests first and unload.json last.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/itemptr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "ship/ship.h"

int			indicina_redshift_slices = 2;
int			indicina_unload_workers = 2;
int			indicina_unload_worker_rows = 100000;

void
ship_init(void)
{
	DefineCustomIntVariable("indicina.redshift_slices",
							"The Redshift cluster's number of slices: an unload writes at least one part per slice.",
							"unload() uses it when its slices argument is not given.",
							&indicina_redshift_slices,
							2, 1, 65536,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("indicina.unload_workers",
							"Processes that write an unload's parts, the backend counted: the others are parallel workers.",
							"unload() uses it when its workers argument is not given.  Workers come from max_worker_processes "
							"and max_parallel_workers; the backend writes what no worker takes.",
							&indicina_unload_workers,
							2, 1, 64,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("indicina.unload_worker_rows",
							"Rows a table of an unload needs before its parts are shared among workers.",
							NULL,
							&indicina_unload_worker_rows,
							100000, 1, INT_MAX,
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

/* one share: every row of table t, in parts over slices */
static void
add_whole_share(UnloadJob *job, int t, int64 rows, int slices)
{
	UnloadShare *s = &job->shares[job->nshares++];

	s->table = t;
	s->index = -1;
	s->first_block = -1;
	s->end_block = -1;
	s->rows = rows;
	s->nparts = slices;
}

/*
 * The shares of table t: one, or with workers, up to one per worker of
 * about equal rows, cut between block ranges.  blocks_query returns
 * (first block of a range, rows in it) in block order, under the calling
 * statement's snapshot, like every query of the unload.
 */
static void
plan_table(UnloadJob *job, int t, const char *blocks_query, int workers, int slices)
{
	UnloadTable *table = &job->tables[t];
	int64		total = 0;
	int64		done = 0;
	int			nranges;
	int			nshares;
	int			k = 0;
	int			i;
	bool		isnull;

	if (workers <= 1)
	{
		table->rows = count_rows(table->query);
		add_whole_share(job, t, table->rows, slices);
		return;
	}
	if (SPI_execute(blocks_query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count the rows of table \"%s\" by block", table->name);
	nranges = (int) SPI_processed;
	for (i = 0; i < nranges; i++)
		total += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	table->rows = total;
	nshares = Min(workers, nranges);
	if (total < indicina_unload_worker_rows || nshares < 2)
	{
		SPI_freetuptable(SPI_tuptable);
		add_whole_share(job, t, total, slices);
		return;
	}
	for (i = 0; i < nranges; i++)
	{
		UnloadShare *s;

		if (i == 0 || (k < nshares && done >= total * k / nshares))
		{
			s = &job->shares[job->nshares++];
			s->table = t;
			s->index = k;
			s->first_block = i == 0 ? -1 :
				DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			s->end_block = -1;
			s->rows = 0;
			s->nparts = (slices + nshares - 1) / nshares;
			if (i > 0)
				job->shares[job->nshares - 2].end_block = s->first_block;
			k++;
		}
		s = &job->shares[job->nshares - 1];
		s->rows += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		done += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
}

/* one result row per part of table, whose writers wrote r */
static void
emit_parts(Tuplestorestate *ts, TupleDesc rtd, const char *table, const UnloadResult *r)
{
	ListCell   *lc;
	Datum	   *widths = palloc(sizeof(Datum) * Max(r->ncolumns, 1));
	bool	   *wnulls = palloc(sizeof(bool) * Max(r->ncolumns, 1));
	int			dims[1] = {r->ncolumns};
	int			lbs[1] = {1};
	long		secs;
	int			usecs;
	int			i;

	for (i = 0; i < r->ncolumns; i++)
	{
		widths[i] = Int32GetDatum(Max(r->widths[i], 0));
		wnulls[i] = r->widths[i] < 0;
	}
	TimestampDifference(r->started, r->finished, &secs, &usecs);
	foreach(lc, r->parts)
	{
		PartInfo   *p = (PartInfo *) lfirst(lc);
		Datum		v[10];
		bool		n[10] = {0};

		v[0] = CStringGetTextDatum(table);
		v[1] = Int32GetDatum(foreach_current_index(lc));	/* the part's place in the manifest */
		v[2] = CStringGetTextDatum(p->url);
		v[3] = CStringGetTextDatum(p->relpath);
		v[4] = Int64GetDatum(p->rows);
		v[5] = Int64GetDatum(p->bytes);
		v[6] = Int64GetDatum(p->raw_bytes);
		v[7] = CStringGetTextDatum(p->sha256);
		v[8] = PointerGetDatum(construct_md_array(widths, wnulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
		v[9] = Float8GetDatum(secs + usecs / 1e6);
		tuplestore_putvalues(ts, rtd, v, n);
	}
}

/* the first row of meta_query's one-column result, as text, under the same snapshot */
static void
emit_meta(Tuplestorestate *ts, TupleDesc rtd, const char *meta_query, int processes)
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
	v[1] = Int32GetDatum(processes);
	n[1] = false;
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
 * meta_query, blocks_queries text[], workers): the parts of every table
 * into <root>/<base>/<table>/, base new.  Each query is "SELECT ... FROM
 * one table WHERE ...": a share of it appends a range of ctids.  keys:
 * each table's row key, comma-separated column names (for errors).
 * ship_empty: a table without rows gets one empty part.  meta_query (NULL:
 * none) is run under the same snapshot: its value comes back as the url of
 * a row whose table_name is NULL and whose part is the number of processes
 * that wrote parts (the backend counted).  blocks_queries: each
 * table's rows by range of blocks (first block, rows), in block order, to
 * cut the table into shares for workers (at most that many processes,
 * the backend counted) when it has indicina.unload_worker_rows rows.
 * Returns (table_name, part, url, path, rows, bytes, raw_bytes, sha256,
 * widths, seconds): widths the longest value in bytes of each text column,
 * NULL for others; seconds the table's.
 */
PG_FUNCTION_INFO_V1(indicina_unload_write);
Datum
indicina_unload_write(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			ntables,
				nqueries,
				nkeys,
				nblocks;
	char	  **tables = text_array(PG_GETARG_ARRAYTYPE_P(2), &ntables, "tables");
	char	  **queries = text_array(PG_GETARG_ARRAYTYPE_P(3), &nqueries, "queries");
	char	  **keys = text_array(PG_GETARG_ARRAYTYPE_P(4), &nkeys, "keys");
	int			slices = PG_GETARG_INT32(6);
	char	   *meta_query = PG_ARGISNULL(10) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(10));
	char	  **blocks_queries = text_array(PG_GETARG_ARRAYTYPE_P(11), &nblocks, "blocks_queries");
	int			workers = PG_GETARG_INT32(12);
	UnloadJob	job = {0};
	UnloadResult *results;
	int			processes;
	MemoryContext cxt;
	MemoryContext old;
	Destination *dest;
	int			i;

	if (ntables != nqueries || ntables != nkeys || ntables != nblocks)
		elog(ERROR, "unload_write needs as many queries, keys and block queries as tables");
	if (slices < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slices must be at least 1")));
	if (workers < 1 || workers > 64)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("workers must be between 1 and 64")));
	job.server = NameStr(*PG_GETARG_NAME(0));
	job.base = text_to_cstring(PG_GETARG_TEXT_PP(1));
	job.compression = parse_compression(text_to_cstring(PG_GETARG_TEXT_PP(5)));
	job.max_part_size = PG_GETARG_INT64(7);
	job.url_prefix = PG_ARGISNULL(8) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(8));
	job.ship_empty = PG_GETARG_BOOL(9);
	if (job.max_part_size < 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_part_size must be at least 1024 bytes")));
	for (i = 0; i < ntables; i++)
		destination_check_name("table", tables[i]);
	InitMaterializedSRF(fcinfo, 0);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "indicina unload", ALLOCSET_DEFAULT_SIZES);
	dest = destination_open(job.server, job.base, job.url_prefix, DEST_NEW, cxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	old = MemoryContextSwitchTo(cxt);
	job.ntables = ntables;
	job.tables = palloc0(sizeof(UnloadTable) * Max(ntables, 1));
	job.shares = palloc0(sizeof(UnloadShare) * Max(ntables, 1) * workers);
	for (i = 0; i < ntables; i++)
	{
		job.tables[i].name = tables[i];
		job.tables[i].query = queries[i];
		job.tables[i].keys = keys[i];
		plan_table(&job, i, blocks_queries[i], workers, slices);
	}
	results = unload_run(&job, workers, dest, &processes);
	MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (meta_query)
		emit_meta(rsinfo->setResult, rsinfo->setDesc, meta_query, processes);
	for (i = 0; i < ntables; i++)
		emit_parts(rsinfo->setResult, rsinfo->setDesc, tables[i], &results[i]);
	MemoryContextSwitchTo(old);
	SPI_finish();
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/* indicina.unload_check_server(server): may the caller unload into it (destination.c) */
PG_FUNCTION_INFO_V1(indicina_unload_check_server);
Datum
indicina_unload_check_server(PG_FUNCTION_ARGS)
{
	destination_check_server(NameStr(*PG_GETARG_NAME(0)));
	PG_RETURN_VOID();
}

/* indicina.tid_block(tid): the heap block a row is in (to cut a table into block ranges) */
PG_FUNCTION_INFO_V1(indicina_tid_block);
Datum
indicina_tid_block(PG_FUNCTION_ARGS)
{
	ItemPointer tid = (ItemPointer) PG_GETARG_POINTER(0);

	PG_RETURN_INT64((int64) ItemPointerGetBlockNumber(tid));
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
	dest = destination_open(server, base, url_prefix, DEST_EXISTING, cxt);
	urls = palloc(sizeof(Datum) * Max(npaths, 1));
	for (i = 0; i < npaths; i++)
	{
		CHECK_FOR_INTERRUPTS();
		urls[i] = CStringGetTextDatum(destination_write_whole(dest, paths[i], contents[i], strlen(contents[i])));
	}
	MemoryContextDelete(cxt);
	PG_RETURN_ARRAYTYPE_P(construct_array(urls, npaths, TEXTOID, -1, false, TYPALIGN_INT));
}
