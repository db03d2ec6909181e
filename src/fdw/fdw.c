/*-------------------------------------------------------------------------
 *
 * fdw.c
 *		The indicina_csv foreign-data wrapper: planner and executor
 *		callbacks.  A scan walks the table's files in order, maps each
 *		file's header to the columns by name, converts only the columns the
 *		query needs, and turns every bad row into a reject (or an error, or
 *		nothing, per on_error) so that rows read = rows returned + rows
 *		rejected, always.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "pgstat.h"
#include "utils/backend_progress.h"
#include "catalog/pg_operator.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/sampling.h"

#include "fdw/fdw.h"
#include "fdw/scan_consumer.h"

/* bytes per row assumed before ANALYZE (the generated statements average ~65) */
#define DEFAULT_ROW_BYTES 64
/* a percentage reject_limit is judged once this many rows were read, and at the end */
#define REJECT_PERCENT_MIN_ROWS 1000
#define PROGRESS_EVERY 1024

/* rows of one file of a pass: rows read = returned + rejected, per file too */
typedef struct FileCounts
{
	const char *file;
	int			index;			/* the file's place in all_files */
	int64		last_line;		/* the line of the last row read */
	int64		rows_read;
	int64		rows_rejected;	/* all rejects, rule rejects included */
	int64		rows_quarantined;	/* by a reject rule */
	int64		rows_warned;
} FileCounts;

/* what the planner hands the executor: the attnums the query needs */
typedef struct CsvPlanState
{
	CsvOptions	opts;
	List	   *files;
	int64		total_bytes;
} CsvPlanState;

/* a consumer this scan was given (scan_consumer.h) */
typedef struct ActiveConsumer
{
	const ScanConsumerKind *kind;
	void	   *state;
} ActiveConsumer;

/* the scan; its consumers see it as a ScanHandle */
typedef struct ScanHandle
{
	CsvOptions	opts;
	Relation	rel;
	char	   *relname;
	List	   *all_files;		/* resolved once, when the scan begins */
	List	   *files;			/* this pass's: all_files, or those the file filter names */
	int		   *file_index;		/* per file of this pass: its place in all_files */
	ListCell   *next_file;
	ExprState  *file_filter;	/* the file filter's value (fdw_exprs), or NULL */
	bool		filter_is_array;
	ExprContext *econtext;		/* where the filter is evaluated */
	bool		pass_started;	/* this pass's files are known and its state reset */
	bool		pass_done;		/* this pass read its last row */
	int			passes;			/* passes started (a rescan starts one) */
	int64		earlier_rows_read;	/* rows of the passes before this one, for EXPLAIN */
	int64		earlier_rows_rejected;
	int64	   *logged_through; /* per file of all_files: the last line an earlier pass recorded */
	int64	   *finished_through;	/* ... and the last covered by a pass that reached its end */
	int64		cur_logged_through; /* the open file's logged_through */
	Size		dsm_size;		/* a parallel scan's shared file list */
	void	   *parallel;		/* a parallel survey's shared files, or NULL */
	bool		counts_shared;	/* a worker: its rows added to the shared counts */
	int64		worker_rows_read;	/* the leader: its workers' rows, for EXPLAIN */
	int64		worker_rows_rejected;
	bool		file_open;
	bool		header_pending;
	int64		total_bytes;
	int64		bytes_before;	/* bytes of the files already finished */

	int			natts;
	bool	   *needed;			/* per attribute (0-based) */
	ColumnSource *source;
	char	  **match_name;		/* label_key of the name to find in a header */
	ColumnConverter *conv;
	bool	   *notnull;
	int		   *field_of;		/* per attribute: field index in this file, -1 none */
	int			ndata;			/* data (non-source) columns */
	int			expected_fields;
	bool		count_only;		/* no column needs the field text */

	CsvReader	reader;
	RejectLog  *rejects;
	int64		scan_id;
	int64		rows_read;
	int64		rows_returned;
	int64		rows_rejected;
	int64		rows_warned;
	bool		progress;

	ScanInfo	info;			/* for the consumers */
	ActiveConsumer *consumers;	/* in the order the kinds registered */
	int			nconsumers;
	ActiveConsumer *row_consumers;	/* those with a row callback */
	int			nrow_consumers;
	bool		row_flagged;	/* the current row: a consumer flagged it */
	bool		dry_run;		/* indicina.dry_run: count, record nothing, never stop */
	FileCounts *counts;			/* per file this pass opened, for indicina.scan_file_stats */
	int			ncounts;
	FileCounts *cur_counts;
	bool		stats_saved;
	MemoryContext scan_cxt;
	MemoryContext row_cxt;		/* reset at every row: the executor's per-tuple context */
} CsvScanState;

/* for the error context: where the scan is */
typedef struct ScanPosition
{
	CsvScanState *st;
	const char *column;
} ScanPosition;

/*
 * FDW callback routines
 */
static void csvGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid);
static void csvGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid);
static ForeignScan *csvGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
									  ForeignPath *best_path, List *tlist, List *scan_clauses,
									  Plan *outer_plan);
static void csvExplainForeignScan(ForeignScanState *node, ExplainState *es);
static void csvBeginForeignScan(ForeignScanState *node, int eflags);
static TupleTableSlot *csvIterateForeignScan(ForeignScanState *node);
static void csvReScanForeignScan(ForeignScanState *node);
static void csvEndForeignScan(ForeignScanState *node);
static bool csvIsForeignScanParallelSafe(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte);
static int	online_cores(void);
static Size csvEstimateDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt);
static void csvInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt, void *coordinate);
static void csvReInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt, void *coordinate);
static void csvInitializeWorkerForeignScan(ForeignScanState *node, shm_toc *toc, void *coordinate);
static void csvShutdownForeignScan(ForeignScanState *node);
static bool csvAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
								   BlockNumber *totalpages);

/*
 * Helper functions
 */
static CsvScanState *scan_begin(Relation rel, List *needed_attnums, MemoryContext parent, bool log_rejects,
								MemoryContext row_cxt);
static void scan_start_pass(CsvScanState *st);
static bool scan_next(CsvScanState *st, Datum *values, bool *nulls);
static void log_record(CsvScanState *st, const char *code, const char *column, const char *value,
					   int value_len, const char *message);
static void take_consumers(CsvScanState *st);
static void consumers_end(CsvScanState *st);
static void scan_end(CsvScanState *st);

PG_FUNCTION_INFO_V1(indicina_csv_handler);

Datum
indicina_csv_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = csvGetForeignRelSize;
	routine->GetForeignPaths = csvGetForeignPaths;
	routine->GetForeignPlan = csvGetForeignPlan;
	routine->ExplainForeignScan = csvExplainForeignScan;
	routine->BeginForeignScan = csvBeginForeignScan;
	routine->IterateForeignScan = csvIterateForeignScan;
	routine->ReScanForeignScan = csvReScanForeignScan;
	routine->EndForeignScan = csvEndForeignScan;
	routine->AnalyzeForeignTable = csvAnalyzeForeignTable;
	routine->IsForeignScanParallelSafe = csvIsForeignScanParallelSafe;
	routine->EstimateDSMForeignScan = csvEstimateDSMForeignScan;
	routine->InitializeDSMForeignScan = csvInitializeDSMForeignScan;
	routine->ReInitializeDSMForeignScan = csvReInitializeDSMForeignScan;
	routine->InitializeWorkerForeignScan = csvInitializeWorkerForeignScan;
	routine->ShutdownForeignScan = csvShutdownForeignScan;
	PG_RETURN_POINTER(routine);
}

int			indicina_max_row_size_kb = 16 * 1024;
static bool indicina_dry_run = false;
static bool indicina_survey = false;

void
fdw_init(void)
{
	DefineCustomIntVariable("indicina.max_row_size",
							"Size past which an indicina_csv row is rejected as ROW_TOO_LONG.",
							"A row that grows this large is usually a quote that was never closed, or a file with no line ends; the scan starts afresh at the next line.",
							&indicina_max_row_size_kb, 16 * 1024, 1, 256 * 1024,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomBoolVariable("indicina.dry_run",
							 "Makes indicina_csv scans count bad rows and rule failures without recording or stopping.",
							 "Set by indicina.check(); every column is converted, nothing is written to the reject log, no limit or fail rule stops the scan.",
							 &indicina_dry_run, false, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("indicina.survey",
							 "Makes indicina_csv scans a dry run that converts only the columns the query and the row rules need.",
							 "Set by run_pipeline for its first pass over new statement files (their dates and narrations): bad rows are skipped, nothing is recorded, no limit or fail rule stops the scan.",
							 &indicina_survey, false, PGC_USERSET, 0, NULL, NULL, NULL);
	rejects_init();
}

/* ---------------------------------------------------------------------
 * Planning
 * ---------------------------------------------------------------------
 */

/* the attnums a query needs, from its target list and its quals (file_fdw's way) */
static List *
needed_attnums(RelOptInfo *baserel, Oid foreigntableid)
{
	Bitmapset  *attrs = NULL;
	ListCell   *lc;
	List	   *result = NIL;
	int			i;
	Relation	rel;
	TupleDesc	desc;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	foreach(lc, baserel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause, baserel->relid, &attrs);

	rel = table_open(foreigntableid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (i = 1; i <= desc->natts; i++)
	{
		if (TupleDescAttr(desc, i - 1)->attisdropped)
			continue;
		/* a whole-row reference needs them all */
		if (bms_is_member(i - FirstLowInvalidHeapAttributeNumber, attrs) ||
			bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs))
			result = lappend_int(result, i);
	}
	table_close(rel, AccessShareLock);
	return result;
}

/* the text a file probably holds: a gzip file is taken to be a quarter of it */
static int64
text_bytes(const CsvFile *f)
{
	size_t		len = strlen(f->display);
	bool		gz = len > 3 && pg_strcasecmp(f->display + len - 3, ".gz") == 0;

	return f->size * (gz ? 4 : 1);
}

static void
csvGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	CsvPlanState *ps = palloc0(sizeof(CsvPlanState));
	ListCell   *lc;
	double		rows;

	csv_get_options(foreigntableid, &ps->opts);
	ps->files = csv_resolve_files(&ps->opts, true);
	foreach(lc, ps->files)
		ps->total_bytes += text_bytes((CsvFile *) lfirst(lc));
	baserel->fdw_private = ps;

	if (baserel->tuples > 0 && baserel->pages > 0)
		rows = baserel->tuples * ((double) ps->total_bytes / BLCKSZ) / baserel->pages;	/* ANALYZE's density */
	else
		rows = (double) ps->total_bytes / DEFAULT_ROW_BYTES;
	rows = clamp_row_est(rows);
	baserel->tuples = rows;
	baserel->rows = clamp_row_est(rows * clauselist_selectivity(root, baserel->baserestrictinfo,
																0, JOIN_INNER, NULL));
}

static void
csvGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	CsvPlanState *ps = (CsvPlanState *) baserel->fdw_private;
	List	   *attnums = needed_attnums(baserel, foreigntableid);
	Cost		startup = baserel->baserestrictcost.startup;
	Cost		run;
	int			processes;

	/* parsing costs about a tuple's CPU per row; converting a column a bit more */
	run = seq_page_cost * (ps->total_bytes / BLCKSZ) +
		baserel->tuples * (cpu_tuple_cost * 2 + cpu_operator_cost * list_length(attnums)) +
		baserel->tuples * baserel->baserestrictcost.per_tuple;
	add_path(baserel, (Path *) create_foreignscan_path(root, baserel, NULL, baserel->rows,
													   startup, startup + run, NIL,
													   baserel->lateral_relids, NULL,
													   list_make1(attnums)));

	/*
	 * A survey of several files may also be read by parallel workers, a
	 * whole file each at a time (parallel_files.c): a partial path whose
	 * rows and CPU are shared among the participants, the leader's share
	 * reckoned as for a sequential scan.  Parsing is all CPU, so no more
	 * processes than cores: a worker per core besides the leader's, or per
	 * core when the leader reads nothing (parallel_leader_participation off).
	 */
	processes = Min(list_length(ps->files), online_cores());
	/* a partial path is never parameterized: none under LATERAL */
	if (baserel->consider_parallel && baserel->lateral_relids == NULL &&
		processes > 1 && max_parallel_workers_per_gather > 0)
	{
		int			workers = Min(parallel_leader_participation ? processes - 1 : processes,
								  max_parallel_workers_per_gather);
		double		share = workers + (parallel_leader_participation ? Max(0.0, 1.0 - 0.3 * workers) : 0.0);
		ForeignPath *partial = create_foreignscan_path(root, baserel, NULL, clamp_row_est(baserel->rows / share),
													   startup, startup + run / share, NIL,
													   NULL, NULL, list_make1(attnums));

		partial->path.parallel_aware = true;
		partial->path.parallel_workers = workers;
		add_partial_path(baserel, (Path *) partial);
	}
}

/* the cores this machine has online (1 when it cannot tell) */
static int
online_cores(void)
{
	long		n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int) Min(n, 1024) : 1;
}

/*
 * Whether a survey of the relation may run in parallel: every consumer
 * kind agrees, and no column it would convert (those the query needs, the
 * NOT NULL ones and those the consumers read, as scan_begin picks them)
 * goes through its type's input function.
 */
static bool
survey_parallel_safe(RelOptInfo *rel, Oid relid)
{
	List	   *attnums = needed_attnums(rel, relid);
	Relation	r = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(r);
	bool	   *needed = palloc0(sizeof(bool) * desc->natts);
	bool		safe = true;
	bool		generic = false;
	const ScanConsumerKind *const *kinds;
	int			nkinds = scan_consumer_kinds(&kinds);
	ListCell   *lc;
	int			i;

	foreach(lc, attnums)
		needed[lfirst_int(lc) - 1] = true;
	for (i = 0; i < nkinds; i++)
		if (kinds[i]->plan)
			kinds[i]->plan(r, needed, &safe);
	for (i = 0; i < desc->natts && safe && !generic; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		CsvColumnOptions copts;

		if (att->attisdropped || !(needed[i] || att->attnotnull))
			continue;
		csv_get_column_options(relid, att->attnum, &copts);
		generic = copts.source == SOURCE_DATA && converter_is_generic(att->atttypid);
	}
	table_close(r, AccessShareLock);
	return safe && !generic;
}

/*
 * A survey may run in parallel (parallel_files.c), unless a consumer says
 * no (an expression rule: any SQL, which may not be safe in a worker) or it
 * converts a column through its type's input function: catching that
 * function's errors takes a subtransaction, which a worker cannot start.
 */
static bool
csvIsForeignScanParallelSafe(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	return indicina_survey && survey_parallel_safe(rel, rte->relid);
}

/*
 * If clause is "file_column = <value>" or "file_column = ANY(<array>)",
 * where file_column has source 'file' and the value does not depend on the
 * row, the value's expression; else NULL.  Lets a pipeline read only the
 * files its ledger says are new.
 */
static Expr *
file_filter(RelOptInfo *baserel, Oid foreigntableid, Expr *clause, bool *is_array)
{
	List	   *args;
	Oid			opno;
	Node	   *var,
			   *value;
	CsvColumnOptions copts;

	if (IsA(clause, OpExpr))
	{
		args = ((OpExpr *) clause)->args;
		opno = ((OpExpr *) clause)->opno;
		*is_array = false;
	}
	else if (IsA(clause, ScalarArrayOpExpr) && ((ScalarArrayOpExpr *) clause)->useOr)
	{
		args = ((ScalarArrayOpExpr *) clause)->args;
		opno = ((ScalarArrayOpExpr *) clause)->opno;
		*is_array = true;
	}
	else
		return NULL;
	if (opno != TextEqualOperator || list_length(args) != 2)
		return NULL;
	var = linitial(args);
	value = lsecond(args);
	if (!*is_array && IsA(value, Var))
	{
		Node	   *t = var;

		var = value;
		value = t;
	}
	if (!IsA(var, Var) || ((Var *) var)->varno != baserel->relid || ((Var *) var)->varattno <= 0)
		return NULL;
	if (!IsA(value, Const) && !IsA(value, Param))
		return NULL;
	csv_get_column_options(foreigntableid, ((Var *) var)->varattno, &copts);
	return copts.source == SOURCE_FILE ? (Expr *) value : NULL;
}

static ForeignScan *
csvGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				  ForeignPath *best_path, List *tlist, List *scan_clauses, Plan *outer_plan)
{
	List	   *fdw_private = best_path->fdw_private;
	List	   *fdw_exprs = NIL;
	ListCell   *lc;

	scan_clauses = extract_actual_clauses(scan_clauses, false);
	/* a filter on the file column picks the files to open (the clause stays, as a recheck) */
	foreach(lc, scan_clauses)
	{
		bool		is_array;
		Expr	   *names = file_filter(baserel, foreigntableid, (Expr *) lfirst(lc), &is_array);

		if (names)
		{
			fdw_exprs = list_make1(names);
			fdw_private = list_make2(linitial(fdw_private), makeInteger(is_array ? 2 : 1));
			break;
		}
	}
	return make_foreignscan(tlist, scan_clauses, baserel->relid, fdw_exprs,
							fdw_private, NIL, NIL, outer_plan);
}

/* ---------------------------------------------------------------------
 * Execution
 * ---------------------------------------------------------------------
 */

static void
scan_error_callback(void *arg)
{
	ScanPosition *pos = (ScanPosition *) arg;
	CsvScanState *st = pos->st;

	if (!st->file_open)
		return;
	if (pos->column)
		errcontext("indicina_csv table \"%s\", file \"%s\", line %lld, column %s",
				   st->relname, st->reader.file->display, (long long) st->reader.row_line, pos->column);
	else
		errcontext("indicina_csv table \"%s\", file \"%s\", line %lld",
				   st->relname, st->reader.file->display, (long long) st->reader.row_line);
}

/* rows the files probably hold: DEFAULT_ROW_BYTES a row */
static double
expected_rows(List *files)
{
	ListCell   *lc;
	double		rows = 0;

	foreach(lc, files)
		rows += (double) text_bytes((CsvFile *) lfirst(lc)) / DEFAULT_ROW_BYTES;
	return rows;
}

/*
 * Sets up a scan: options, files, converters, rules, the reject log.
 * Nothing that depends on a parameter (the file filter's value) is known
 * yet: each pass starts with scan_start_pass.  Per-row work happens in
 * row_cxt, reset at every row; NULL makes one of the scan's own.
 */
static CsvScanState *
scan_begin(Relation rel, List *needed, MemoryContext parent, bool log_rejects, MemoryContext row_cxt)
{
	CsvScanState *st;
	MemoryContext scan_cxt = AllocSetContextCreate(parent, "indicina_csv scan", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(scan_cxt);
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	ListCell   *lc;
	int			i;
	int			nfiles;
	bool		count_only = true;

	st = palloc0(sizeof(CsvScanState));
	st->scan_cxt = scan_cxt;
	st->row_cxt = row_cxt ? row_cxt : AllocSetContextCreate(scan_cxt, "indicina_csv row", ALLOCSET_DEFAULT_SIZES);
	st->rel = rel;
	st->relname = pstrdup(RelationGetRelationName(rel));
	csv_get_options(relid, &st->opts);
	st->all_files = csv_resolve_files(&st->opts, false);
	nfiles = Max(list_length(st->all_files), 1);
	st->file_index = palloc0(sizeof(int) * nfiles);
	st->logged_through = palloc0(sizeof(int64) * nfiles);
	st->finished_through = palloc0(sizeof(int64) * nfiles);
	st->counts = palloc0(sizeof(FileCounts) * nfiles);

	st->natts = desc->natts;
	st->needed = palloc0(sizeof(bool) * st->natts);
	st->source = palloc0(sizeof(ColumnSource) * st->natts);
	st->match_name = palloc0(sizeof(char *) * st->natts);
	st->conv = palloc0(sizeof(ColumnConverter) * st->natts);
	st->notnull = palloc0(sizeof(bool) * st->natts);
	st->field_of = palloc(sizeof(int) * st->natts);
	foreach(lc, needed)
		st->needed[lfirst_int(lc) - 1] = true;

	/*
	 * A dry run (indicina.check) converts every column, like the load would;
	 * a survey (indicina.survey) only those the query and the row rules
	 * need.  Neither records anything nor stops.
	 */
	st->dry_run = (indicina_dry_run || indicina_survey) && log_rejects;
	if (st->dry_run && !indicina_survey)
		for (i = 0; i < st->natts; i++)
			st->needed[i] = !TupleDescAttr(desc, i)->attisdropped;
	st->info.rel = rel;
	st->info.relid = relid;
	st->info.relname = st->relname;
	st->info.dry_run = st->dry_run;
	st->info.natts = st->natts;
	/* ANALYZE samples rows; consumers are for loads */
	if (log_rejects)
		take_consumers(st);
	for (i = 0; i < st->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		CsvColumnOptions copts;
		const char *name;
		char	   *key;

		if (att->attisdropped)
			continue;
		csv_get_column_options(relid, att->attnum, &copts);
		st->source[i] = copts.source;
		st->notnull[i] = att->attnotnull;
		if (copts.source != SOURCE_DATA)
			continue;
		st->ndata++;
		name = copts.column_name ? copts.column_name : NameStr(att->attname);
		key = palloc(strlen(name) + 1);
		label_key(name, strlen(name), key, strlen(name) + 1);
		st->match_name[i] = key;
		if (st->needed[i])
		{
			converter_init(&st->conv[i], att, &copts, scan_cxt);
			count_only = false;
		}
	}
	/* NOT NULL columns are checked on every row, so they are always converted */
	for (i = 0; i < st->natts; i++)
		if (st->notnull[i] && st->source[i] == SOURCE_DATA && !st->needed[i])
		{
			CsvColumnOptions copts;

			csv_get_column_options(relid, i + 1, &copts);
			st->needed[i] = true;
			converter_init(&st->conv[i], TupleDescAttr(desc, i), &copts, scan_cxt);
			count_only = false;
		}

	/* the integer form numeric converters leave, for the consumers that read it */
	for (i = 0; i < st->natts; i++)
		if (st->needed[i] && st->source[i] == SOURCE_DATA && st->conv[i].kind == CONV_NUMERIC)
		{
			int			c;

			for (c = 0; c < st->nconsumers; c++)
				if (st->consumers[c].kind->use_scaled)
					st->consumers[c].kind->use_scaled(st->consumers[c].state, i, &st->conv[i].scaled);
		}

	st->count_only = count_only;
	reader_init(&st->reader, &st->opts, count_only, scan_cxt);
	if (st->dry_run)
	{
		/* count every bad row, record none, stop at none */
		st->opts.on_error = ON_ERROR_SKIP;
		st->opts.reject_limit = -1;
	}
	if (log_rejects && st->opts.on_error == ON_ERROR_REJECT)
	{
		st->rejects = reject_log_open(scan_cxt);
		st->scan_id = reject_next_scan_id();
		st->info.scan_id = st->scan_id;
	}

	/* progress, as pg_stat_progress_copy shows it, unless a command reports already */
	if (MyBEEntry && MyBEEntry->st_progress_command == PROGRESS_COMMAND_INVALID && !IsParallelWorker())
	{
		pgstat_progress_start_command(PROGRESS_COMMAND_COPY, relid);
		pgstat_progress_update_param(PROGRESS_COPY_COMMAND, PROGRESS_COPY_COMMAND_FROM);
		pgstat_progress_update_param(PROGRESS_COPY_TYPE, PROGRESS_COPY_TYPE_FILE);
		st->progress = true;
	}
	MemoryContextSwitchTo(old);
	return st;
}

/* the names a file filter's value holds: a text, or the elements of a text[] */
static List *
filter_names(CsvScanState *st)
{
	List	   *names = NIL;
	bool		isnull;
	Datum		value = ExecEvalExprSwitchContext(st->file_filter, st->econtext, &isnull);

	/* NULL matches no file */
	if (isnull)
		return NIL;
	if (st->filter_is_array)
	{
		Datum	   *elems;
		bool	   *enulls;
		int			n,
					i;

		deconstruct_array(DatumGetArrayTypeP(value), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
		for (i = 0; i < n; i++)
			if (!enulls[i])
				names = lappend(names, TextDatumGetCString(elems[i]));
	}
	else
		names = list_make1(TextDatumGetCString(value));
	return names;
}

/*
 * Starts a pass over the files: the first, or again after a rescan.  The
 * file filter's value is read now, when its parameters are set (a
 * correlated subquery, a LATERAL reference, a nested loop set them only
 * when the scan runs), and every per-pass count starts from nothing, so
 * that each pass gives exactly the rows, counts and verdicts a single scan
 * gives.  What an earlier pass recorded in the reject log is not recorded
 * again: a pass records a file's rows only past the last line an earlier
 * pass of the scan read in that file.
 */
static void
scan_start_pass(CsvScanState *st)
{
	MemoryContext old;
	ListCell   *lc;
	int			i;

	if (st->pass_started)
		return;
	if (st->passes > 0)
	{
		for (i = 0; i < st->ncounts; i++)
			st->logged_through[st->counts[i].index] = Max(st->logged_through[st->counts[i].index],
														  st->counts[i].last_line);
		st->earlier_rows_read += st->rows_read + st->worker_rows_read;
		st->earlier_rows_rejected += st->rows_rejected + st->worker_rows_rejected;
		st->rows_read = st->rows_returned = st->rows_rejected = st->rows_warned = 0;
		st->worker_rows_read = st->worker_rows_rejected = 0;
		st->counts_shared = false;
		memset(st->counts, 0, sizeof(FileCounts) * st->ncounts);
		st->ncounts = 0;
		st->cur_counts = NULL;
		st->bytes_before = 0;
		for (i = 0; i < st->nconsumers; i++)
			if (st->consumers[i].kind->rescan)
				st->consumers[i].kind->rescan(st->consumers[i].state);
	}

	old = MemoryContextSwitchTo(st->scan_cxt);
	if (st->files != st->all_files)
		list_free(st->files);
	st->files = st->all_files;
	if (st->file_filter)
	{
		List	   *names;
		List	   *kept = NIL;

		MemoryContextSwitchTo(st->econtext->ecxt_per_tuple_memory);
		names = filter_names(st);
		MemoryContextSwitchTo(st->scan_cxt);
		foreach(lc, st->all_files)
		{
			ListCell   *ln;

			foreach(ln, names)
				if (strcmp(((CsvFile *) lfirst(lc))->display, (char *) lfirst(ln)) == 0)
				{
					st->file_index[list_length(kept)] = foreach_current_index(lc);
					kept = lappend(kept, lfirst(lc));
					break;
				}
		}
		st->files = kept;
	}
	else
		for (i = 0; i < list_length(st->all_files); i++)
			st->file_index[i] = i;
	MemoryContextSwitchTo(old);

	st->total_bytes = 0;
	foreach(lc, st->files)
		st->total_bytes += ((CsvFile *) lfirst(lc))->size;
	st->next_file = list_head(st->files);
	if (st->progress)
		pgstat_progress_update_param(PROGRESS_COPY_BYTES_TOTAL, st->total_bytes);
	st->passes++;
	st->info.pass = st->passes;
	st->pass_done = false;
	st->pass_started = true;
	for (i = 0; i < st->nconsumers; i++)
		if (st->consumers[i].kind->pass_start)
			st->consumers[i].kind->pass_start(st->consumers[i].state, st);
}

/*
 * Maps this file's header (or, without one, the column order) to the data
 * columns.  A mapped column the header lacks is an error naming the file
 * and the column, unless missing_columns is 'null'.
 */
static void
map_header(CsvScanState *st, bool from_header)
{
	CsvReader  *r = &st->reader;
	int			i,
				f,
				pos = 0;

	for (i = 0; i < st->natts; i++)
		st->field_of[i] = -1;
	if (!from_header)
	{
		for (i = 0; i < st->natts; i++)
			if (st->match_name[i])
				st->field_of[i] = pos++;
		st->expected_fields = st->ndata;
		return;
	}

	st->expected_fields = r->nfields;
	for (i = 0; i < st->natts; i++)
	{
		if (!st->match_name[i])
			continue;
		for (f = 0; f < r->nfields; f++)
		{
			char		key[NAMEDATALEN * 2];

			if (r->field_len[f] < 0)
				continue;
			label_key(r->fields.data + r->field_off[f], r->field_len[f], key, sizeof(key));
			if (strcmp(key, st->match_name[i]) == 0)
			{
				st->field_of[i] = f;
				break;
			}
		}
		if (st->opts.header == HEADER_MATCH && st->field_of[i] != pos)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("header of \"%s\" does not match the columns of foreign table \"%s\"",
							r->file->display, st->relname),
					 errdetail("Column \"%s\" is not field %d of the header.",
							   NameStr(TupleDescAttr(RelationGetDescr(st->rel), i)->attname), pos + 1),
					 errhint("Use header 'true' to map columns by name in any order.")));
		pos++;
		if (st->field_of[i] < 0 && !st->opts.missing_columns_null)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("file \"%s\" has no column \"%s\" for foreign table \"%s\"",
							r->file->display,
							NameStr(TupleDescAttr(RelationGetDescr(st->rel), i)->attname), st->relname),
					 errhint("Name the header column with the column option column_name, or set missing_columns 'null'.")));
	}
	if (st->opts.header == HEADER_MATCH && r->nfields != st->ndata)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("header of \"%s\" has %d fields and foreign table \"%s\" has %d data columns",
						r->file->display, r->nfields, st->relname, st->ndata)));
}

static bool
open_next_file(CsvScanState *st)
{
	MemoryContext old;
	int			index;

	if (st->file_open)
	{
		st->bytes_before += st->reader.file->size;
		reader_close(&st->reader);
		st->file_open = false;
	}
	if (st->parallel)
	{
		/* a parallel survey: whichever file no process has taken yet */
		int			i = parallel_files_next(st->parallel);

		if (i < 0)
		{
			if (IsParallelWorker() && !st->counts_shared)
			{
				parallel_files_add_counts(st->parallel, st->rows_read, st->rows_rejected);
				st->counts_shared = true;
			}
			return false;
		}
		index = st->file_index[i];
	}
	else
	{
		if (st->next_file == NULL)
			return false;
		index = st->file_index[list_cell_number(st->files, st->next_file)];
		st->next_file = lnext(st->files, st->next_file);
	}
	/* the reader's state lives as long as the scan, not the row */
	old = MemoryContextSwitchTo(st->scan_cxt);
	reader_open(&st->reader, (CsvFile *) list_nth(st->all_files, index));
	MemoryContextSwitchTo(old);
	/* a pass opens each file once (csv_resolve_files leaves no duplicates) */
	if (st->ncounts >= list_length(st->all_files))
		elog(ERROR, "indicina_csv scan of \"%s\" opened more files than it has", st->relname);
	st->cur_counts = &st->counts[st->ncounts++];
	st->cur_counts->file = st->reader.file->display;
	st->cur_counts->index = index;
	st->cur_logged_through = st->logged_through[index];
	st->file_open = true;
	st->header_pending = st->opts.header != HEADER_FALSE;
	if (!st->header_pending)
		map_header(st, false);
	else
		st->reader.count_only = false;	/* the header's names are needed even for count(*) */
	return true;
}

static bool
is_blank(const char *s, int len)
{
	int			i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* Stops the scan: too many rejects.  The records made so far are written first. */
static void
reject_limit_exceeded(CsvScanState *st, const char *detail)
{
	if (st->rejects)
		reject_log_flush(st->rejects);
	ereport(ERROR,
			(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
			 errmsg("reject limit %s exceeded by foreign table \"%s\"", csv_reject_limit_text(&st->opts),
					st->relname),
			 errdetail("%s", detail),
			 st->rejects ?
			 errhint("SELECT * FROM indicina.load_errors WHERE scan_id = %lld lists them.",
					 (long long) st->scan_id) : 0));
}

/*
 * Records (or reports) one bad row.  Returns normally for skip and reject;
 * raises for stop and when the reject limit is passed.
 */
static void
reject_row(CsvScanState *st, const char *code, const char *column, const char *value, int value_len,
		   const char *message)
{
	CsvReader  *r = &st->reader;

	/* a message about a value may quote it: kept out of the server log unless asked for */
	bool		shown = indicina_log_raw_rows || value == NULL;

	st->rows_rejected++;
	st->cur_counts->rows_rejected++;
	if (st->opts.on_error == ON_ERROR_STOP)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("%s in \"%s\" line %lld%s%s", code, r->file->display, (long long) r->row_line,
						column ? ", column " : "", column ? column : ""),
				 shown ? errdetail("%s", message) :
				 errdetail("The reason, which may quote the value, is not shown while indicina.log_raw_rows is off."),
				 errhint("Set on_error 'reject' to keep the good rows and record the bad ones in indicina.load_errors.")));
	log_record(st, code, column, value, value_len, message);
	if (st->opts.reject_limit >= 0 && !st->opts.reject_limit_percent &&
		st->rows_rejected > st->opts.reject_limit_rows)
		reject_limit_exceeded(st, psprintf("%lld of %lld rows read were rejected; the last in \"%s\" line %lld%s%s",
										   (long long) st->rows_rejected, (long long) st->rows_read,
										   r->file->display, (long long) r->row_line,
										   shown ? ": " : ".", shown ? message : ""));
}

/* one record of the reject log about the current row (a reject, or a WARN: flag) */
static void
log_record(CsvScanState *st, const char *code, const char *column, const char *value, int value_len,
		   const char *message)
{
	CsvReader  *r = &st->reader;

	/* an earlier pass of this scan recorded this row already */
	if (st->rejects && r->row_line > st->cur_logged_through)
	{
		RejectRecord rec;

		rec.scan_id = st->scan_id;
		rec.relid = RelationGetRelid(st->rel);
		rec.file = r->file->display;
		rec.line = r->row_line;
		rec.byte_offset = r->row_offset;
		rec.column = column;
		rec.value = value;
		rec.value_len = value && value_len > RAW_LINE_MAX ? pg_mbcliplen(value, value_len, RAW_LINE_MAX) : value_len;
		rec.raw = r->raw.data;
		rec.raw_len = r->raw.len;
		/* the raw text without its line ending */
		while (rec.raw_len > 0 && (rec.raw[rec.raw_len - 1] == '\n' || rec.raw[rec.raw_len - 1] == '\r'))
			rec.raw_len--;
		rec.code = code;
		rec.message = message;
		reject_log_add(st->rejects, &rec);
	}
}

static void
check_reject_percent(CsvScanState *st, bool at_end)
{
	double		pct;

	if (st->opts.reject_limit < 0 || !st->opts.reject_limit_percent || st->rows_read == 0)
		return;
	if (!at_end && st->rows_read < REJECT_PERCENT_MIN_ROWS)
		return;
	pct = 100.0 * st->rows_rejected / st->rows_read;
	if (pct > st->opts.reject_limit)
		reject_limit_exceeded(st, psprintf("%lld of %lld rows read (%.2f%%) were rejected.",
										   (long long) st->rows_rejected, (long long) st->rows_read, pct));
}

/* a data error (SQLSTATE class 22 or 23): the value's fault, not the query's */
static bool
is_data_error(int sqlerrcode)
{
	return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_DATA_EXCEPTION ||
		ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

/*
 * A generic type's input function.  Under on_error 'stop' a data error
 * becomes the stop error of reject_row.  When errors must not escape, it
 * runs under a subtransaction and a data error becomes a reject; anything else
 * (a cancel, statement_timeout, out of memory, an error of the function's
 * own) is raised again.  A query in parallel mode cannot start a
 * subtransaction (surveys are planned in one process when they would
 * need one: csvIsForeignScanParallelSafe), so there a bad value stops the
 * query with a hint.
 */
/*
 * The input function without a subtransaction: for a query that ends at the
 * first data error anyway.  Returns that error (anything else is raised
 * again), or NULL when the value converted.
 */
static ErrorData *
run_generic_unprotected(ColumnConverter *cv, const char *s, int len, Datum *out, CoerceError *err)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;

	PG_TRY();
	{
		converter_run(cv, s, len, out, err);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (!is_data_error(edata->sqlerrcode))
			PG_RE_THROW();
		FlushErrorState();
	}
	PG_END_TRY();
	return edata;
}

static bool
run_generic(CsvScanState *st, ColumnConverter *cv, const char *s, int len, Datum *out, CoerceError *err)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;
	ErrorData  *edata;

	if (st->opts.on_error == ON_ERROR_STOP)
	{
		/*
		 * A data error stops the query through reject_row, which shows the
		 * reason (it quotes the value) only under indicina.log_raw_rows.
		 */
		edata = run_generic_unprotected(cv, s, len, out, err);
		if (edata)
			coerce_fail(err, COERCE_INVALID_VALUE, "%s", edata->message);
		return edata == NULL;
	}
	if (IsInParallelMode())
	{
		edata = run_generic_unprotected(cv, s, len, out, err);
		/* the message may quote the value: as in reject_row */
		if (edata)
			ereport(ERROR,
					(errcode(edata->sqlerrcode),
					 indicina_log_raw_rows ? errmsg("%s", edata->message) :
					 errmsg("invalid input for type %s", format_type_be(cv->typid)),
					 errdetail("Column %s has type %s, whose input function cannot reject a row while the query runs in parallel mode.%s",
							   cv->name, format_type_be(cv->typid),
							   indicina_log_raw_rows ? "" :
							   " The reason, which may quote the value, is not shown while indicina.log_raw_rows is off."),
					 errhint("Run the query with max_parallel_workers_per_gather = 0 to reject such rows.")));
		return true;
	}
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		converter_run(cv, s, len, out, err);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (!is_data_error(edata->sqlerrcode))
			ReThrowError(edata);
		coerce_fail(err, COERCE_INVALID_VALUE, "%s", edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* ---------------------------------------------------------------------
 * Consumers (scan_consumer.h): what rides on the scan
 * ---------------------------------------------------------------------
 */

/* asks every registered kind what it has for this scan, and its columns */
static void
take_consumers(CsvScanState *st)
{
	const ScanConsumerKind *const *kinds;
	int			nkinds = scan_consumer_kinds(&kinds);
	int			i;

	st->consumers = palloc0(sizeof(ActiveConsumer) * Max(nkinds, 1));
	st->row_consumers = palloc0(sizeof(ActiveConsumer) * Max(nkinds, 1));
	for (i = 0; i < nkinds; i++)
	{
		void	   *state = kinds[i]->take(st, st->scan_cxt);

		if (state == NULL)
			continue;
		st->consumers[st->nconsumers].kind = kinds[i];
		st->consumers[st->nconsumers++].state = state;
		if (kinds[i]->row)
		{
			st->row_consumers[st->nrow_consumers].kind = kinds[i];
			st->row_consumers[st->nrow_consumers++].state = state;
		}
		if (kinds[i]->columns_needed)
			kinds[i]->columns_needed(state, st->needed);
	}
}

/* a converted row through the consumers; false when one quarantines it */
static inline bool
consumers_row(CsvScanState *st, Datum *values, bool *nulls)
{
	int			i;

	st->row_flagged = false;
	for (i = 0; i < st->nrow_consumers; i++)
		if (!st->row_consumers[i].kind->row(st->row_consumers[i].state, st, values, nulls))
			return false;
	return true;
}

/* the end of a pass, for every consumer; then nothing it found is recorded again */
static void
consumers_end(CsvScanState *st)
{
	int			i;

	for (i = 0; i < st->nconsumers; i++)
		if (st->consumers[i].kind->end)
			st->consumers[i].kind->end(st->consumers[i].state, st);
	for (i = 0; i < st->ncounts; i++)
		st->finished_through[st->counts[i].index] = Max(st->finished_through[st->counts[i].index],
														st->counts[i].last_line);
}

const ScanInfo *
scan_info(const ScanHandle *scan)
{
	return &scan->info;
}

double
scan_expected_rows(const ScanHandle *scan)
{
	return expected_rows(scan->files);
}

int
scan_file_count(const ScanHandle *scan)
{
	return scan->ncounts;
}

const char *
scan_file_name(const ScanHandle *scan, int file)
{
	Assert(file >= 0 && file < scan->ncounts);
	return scan->counts[file].file;
}

int64
scan_line(const ScanHandle *scan)
{
	return scan->reader.row_line;
}

void
scan_file_counts(const ScanHandle *scan, int file, ScanFileCounts *counts)
{
	const FileCounts *c = &scan->counts[file];

	Assert(file >= 0 && file < scan->ncounts);
	counts->rows_read = c->rows_read;
	counts->rows_rejected = c->rows_rejected;
	counts->rows_quarantined = c->rows_quarantined;
	counts->rows_warned = c->rows_warned;
}

/* a warn or fail rule's failure: a record, and the row counts as warned once */
void
scan_flag_row(ScanHandle *st, const char *code, const char *column, const char *value, const char *message)
{
	if (!st->row_flagged)
	{
		st->row_flagged = true;
		st->rows_warned++;
		st->cur_counts->rows_warned++;
	}
	log_record(st, code, column, value, value ? strlen(value) : 0, message);
}

bool
scan_row_flagged(const ScanHandle *scan)
{
	return scan->row_flagged;
}

void
scan_quarantine_row(ScanHandle *st, const char *code, const char *column, const char *value,
					const char *message)
{
	st->cur_counts->rows_quarantined++;
	reject_row(st, code, column, value, value ? strlen(value) : 0, message);
}

/*
 * A finding at the end of a pass (balance_continuity needs every row): a
 * record against its file and line, whose raw text is gone by now.
 */
void
scan_flag_at(ScanHandle *st, int file, int64 line, bool already_flagged, const char *code,
			 const char *column, const char *value, const char *message)
{
	Assert(file >= 0 && file < st->ncounts);
	if (!already_flagged)
	{
		st->rows_warned++;
		st->counts[file].rows_warned++;
	}
	/* a pass that reached its end before recorded this one */
	if (st->rejects && line > st->finished_through[st->counts[file].index])
	{
		RejectRecord rec;

		rec.scan_id = st->scan_id;
		rec.relid = RelationGetRelid(st->rel);
		rec.file = st->counts[file].file;
		rec.line = line;
		rec.byte_offset = -1;
		rec.column = column;
		rec.value = value;
		rec.value_len = value ? strlen(value) : 0;
		rec.raw = NULL;
		rec.raw_len = 0;
		rec.code = code;
		rec.message = message;
		reject_log_add(st->rejects, &rec);
	}
}

/*
 * The next good row into values/nulls; false at the end of the last file.
 * Bad rows are rejected on the way.  Everything a row needs is allocated
 * in row_cxt, reset at the next row: a million rejected rows in one call
 * cost one row's memory.  The row returned lives there until the next
 * call.
 */
static bool
scan_next(CsvScanState *st, Datum *values, bool *nulls)
{
	CsvReader  *r = &st->reader;
	ScanPosition pos = {st, NULL};
	ErrorContextCallback errcb;
	bool		result = false;
	MemoryContext caller_cxt;

	scan_start_pass(st);
	if (st->pass_done)
		return false;
	caller_cxt = MemoryContextSwitchTo(st->row_cxt);
	errcb.callback = scan_error_callback;
	errcb.arg = &pos;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (;;)
	{
		int			i;
		bool		bad = false;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(st->row_cxt);
		if (!st->file_open && !open_next_file(st))
			break;
		if (reader_next_row(r) == READ_END_OF_FILE)
		{
			if (!open_next_file(st))
				break;
			continue;
		}
		if (st->header_pending)
		{
			st->header_pending = false;
			map_header(st, true);
			st->reader.count_only = st->count_only;
			continue;
		}
		st->rows_read++;
		st->cur_counts->rows_read++;
		st->cur_counts->last_line = r->row_line;
		if (st->progress && st->rows_read % PROGRESS_EVERY == 0)
		{
			pgstat_progress_update_param(PROGRESS_COPY_BYTES_PROCESSED,
										 st->bytes_before + reader_file_progress(r));
			pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED, st->rows_read);
			pgstat_progress_update_param(PROGRESS_COPY_TUPLES_EXCLUDED, st->rows_rejected);
		}

		/* structural defects first: they hold whatever columns the query needs */
		if (r->row_too_long)
		{
			reject_row(st, "ROW_TOO_LONG", NULL, NULL, 0, r->row_line_too_long ?
					   psprintf("Line %lld is longer than indicina.max_row_size (%d kB); the scan skipped to its end.",
								(long long) r->line_no, indicina_max_row_size_kb) :
					   psprintf("The row passed indicina.max_row_size (%d kB) at line %lld; a quote is probably not closed.",
								indicina_max_row_size_kb, (long long) r->line_no));
			continue;
		}
		if (r->row_unterminated)
		{
			reject_row(st, "UNTERMINATED_QUOTE", NULL, NULL, 0,
					   "A quoted field is not closed before the end of the file.");
			continue;
		}
		if (r->row_bad_utf8 && !st->opts.invalid_utf8_replace)
		{
			reject_row(st, "INVALID_UTF8", NULL, NULL, 0, "The row has bytes that are not valid UTF-8.");
			continue;
		}
		if (r->nfields < st->expected_fields && !st->opts.fill_missing)
		{
			char	   *msg = psprintf("The row has %d fields and %d were expected.", r->nfields, st->expected_fields);

			reject_row(st, "MISSING_COLUMNS", NULL, NULL, 0, msg);
			continue;
		}
		if (r->nfields > st->expected_fields)
		{
			char	   *msg = psprintf("The row has %d fields and %d were expected.", r->nfields, st->expected_fields);

			reject_row(st, "EXTRA_COLUMNS", NULL, NULL, 0, msg);
			continue;
		}

		{
			for (i = 0; i < st->natts && !bad; i++)
			{
				int			f;
				const char *s;
				int			len;
				CoerceError err;
				bool		ok;

				nulls[i] = true;
				values[i] = (Datum) 0;
				if (!st->needed[i])
					continue;
				switch (st->source[i])
				{
					case SOURCE_FILE:
						values[i] = CStringGetTextDatum(r->file->display);
						nulls[i] = false;
						continue;
					case SOURCE_LINE:
						values[i] = Int64GetDatum(r->row_line);
						nulls[i] = false;
						continue;
					case SOURCE_BYTE_OFFSET:
						values[i] = Int64GetDatum(r->row_offset);
						nulls[i] = false;
						continue;
					case SOURCE_DATA:
						break;
				}
				f = st->field_of[i];
				if (f < 0 || f >= r->nfields || r->field_len[f] < 0)
					s = NULL, len = 0;
				else
				{
					s = r->fields.data + r->field_off[f];
					len = r->field_len[f];
					if ((st->opts.null_string && (int) strlen(st->opts.null_string) == len &&
						 memcmp(s, st->opts.null_string, len) == 0) ||
						(st->opts.blank_as_null && is_blank(s, len)))
						s = NULL;
				}
				if (s == NULL)
				{
					if (st->notnull[i])
					{
						bad = true;
						reject_row(st, "NULL_VALUE", st->conv[i].name, NULL, 0,
								   psprintf("Column %s is NOT NULL and the field is empty.", st->conv[i].name));
					}
					continue;
				}
				pos.column = st->conv[i].name;
				if (st->conv[i].kind == CONV_GENERIC)
					ok = run_generic(st, &st->conv[i], s, len, &values[i], &err);
				else
					ok = converter_run(&st->conv[i], s, len, &values[i], &err);
				pos.column = NULL;
				if (!ok)
				{
					bad = true;
					reject_row(st, coerce_code_name(err.code), st->conv[i].name, s, len, err.reason);
					break;
				}
				nulls[i] = false;
			}
		}
		if (bad)
			continue;
		if (st->nrow_consumers > 0 && !consumers_row(st, values, nulls))
			continue;
		check_reject_percent(st, false);
		st->rows_returned++;
		result = true;
		break;
	}
	if (!result)
	{
		/* the end of this pass: once, however often the executor asks again */
		st->pass_done = true;
		check_reject_percent(st, true);
		consumers_end(st);
		if (st->rejects)
			reject_log_flush(st->rejects);
	}
	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(caller_cxt);
	return result;
}

/*
 * Leaves the scan's counts where indicina.scan_file_stats() and
 * scan_rule_stats() find them (what a pipeline run records per file and
 * rule).  Once per scan; not for ANALYZE.
 */
static void
save_stats(CsvScanState *st)
{
	int			i;

	if (st->stats_saved)
		return;
	st->stats_saved = true;
	for (i = 0; i < st->nconsumers; i++)
		if (st->consumers[i].kind->stats)
			st->consumers[i].kind->stats(st->consumers[i].state, st);
}

static void
scan_end(CsvScanState *st)
{
	if (st->file_open)
		reader_close(&st->reader);
	st->file_open = false;
	if (st->rejects)
		reject_log_flush(st->rejects);
	if (st->progress)
		pgstat_progress_end_command();
	st->progress = false;
}

static void
csvBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	List	   *needed = (List *) linitial(plan->fdw_private);
	CsvScanState *st;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
	{
		/* EXPLAIN without ANALYZE: only what the plan shows */
		st = palloc0(sizeof(CsvScanState));
		csv_get_options(RelationGetRelid(node->ss.ss_currentRelation), &st->opts);
		st->all_files = csv_resolve_files(&st->opts, true);
		st->relname = RelationGetRelationName(node->ss.ss_currentRelation);
		node->fdw_state = st;
		return;
	}
	/* a plan made for a survey may be executed later: never as a parallel load */
	if (plan->scan.plan.parallel_aware && !indicina_survey)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a parallel scan of indicina_csv table \"%s\" can only be a survey",
						RelationGetRelationName(node->ss.ss_currentRelation)),
				 errhint("Plan the query again with indicina.survey off.")));
	st = scan_begin(node->ss.ss_currentRelation, needed, CurrentMemoryContext, true,
					node->ss.ps.ps_ExprContext->ecxt_per_tuple_memory);
	/* a file filter: its value is read when each pass starts (scan_start_pass) */
	if (list_length(plan->fdw_private) > 1)
	{
		st->file_filter = ExecInitExpr(linitial(plan->fdw_exprs), (PlanState *) node);
		st->filter_is_array = intVal(lsecond(plan->fdw_private)) == 2;
		st->econtext = node->ss.ps.ps_ExprContext;
	}
	node->fdw_state = st;
}

static TupleTableSlot *
csvIterateForeignScan(ForeignScanState *node)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	ExecClearTuple(slot);
	if (scan_next(st, slot->tts_values, slot->tts_isnull))
		ExecStoreVirtualTuple(slot);
	return slot;
}

/*
 * The scan starts over: the next Iterate starts a new pass (its file
 * filter read again, its counts from nothing).  Until then the last
 * pass's counts stand, for EXPLAIN and the stats saved at the end.  A
 * pass that a parallel rescan just started (ReInitializeDSM may come
 * first) and that has read nothing yet stands.
 */
static void
csvReScanForeignScan(ForeignScanState *node)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;

	if (st->file_open)
	{
		reader_close(&st->reader);
		st->file_open = false;
	}
	else if (st->pass_started && st->ncounts == 0 && !st->pass_done)
		return;
	st->pass_started = false;
}

static void
csvEndForeignScan(ForeignScanState *node)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;

	if (st && st->scan_cxt)
	{
		/* a worker's counts would die with it: a survey's are not read anyway */
		if (!IsParallelWorker())
			save_stats(st);
		scan_end(st);
	}
}

/* ---------------------------------------------------------------------
 * Parallel surveys: the files shared among the processes of a Gather
 * ---------------------------------------------------------------------
 */

/* the parameters a Gather passes on are set by now: the pass's files are known */
static Size
csvEstimateDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;

	scan_start_pass(st);
	st->dsm_size = parallel_files_size(st->files);
	return st->dsm_size;
}

static void
csvInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt, void *coordinate)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;

	parallel_files_init(coordinate, st->files);
	st->parallel = coordinate;
}

/* a rescan of the Gather: this pass's files, which must fit the space first estimated */
static void
csvReInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt, void *coordinate)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;

	/*
	 * Called before or after ReScan: either way the last pass's workers are
	 * done (their rows count for EXPLAIN) and a new pass starts here, with
	 * the files the Gather's parameters name now.
	 */
	parallel_files_counts(coordinate, &st->worker_rows_read, &st->worker_rows_rejected);
	if (st->file_open)
	{
		reader_close(&st->reader);
		st->file_open = false;
	}
	st->pass_started = false;
	scan_start_pass(st);
	if (parallel_files_size(st->files) > st->dsm_size)
		parallel_files_check(coordinate, st->files, st->relname);	/* reports the change */
	parallel_files_init(coordinate, st->files);
}

static void
csvInitializeWorkerForeignScan(ForeignScanState *node, shm_toc *toc, void *coordinate)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;

	scan_start_pass(st);
	parallel_files_check(coordinate, st->files, st->relname);
	st->parallel = coordinate;
}

/* the leader, once its Gather is done: what the workers read, for EXPLAIN ANALYZE */
static void
csvShutdownForeignScan(ForeignScanState *node)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;

	if (st && st->parallel && !IsParallelWorker())
		parallel_files_counts(st->parallel, &st->worker_rows_read, &st->worker_rows_rejected);
}

static void
csvExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	CsvScanState *st = (CsvScanState *) node->fdw_state;
	StringInfoData names;
	ListCell   *lc;
	int64		bytes = 0;

	initStringInfo(&names);
	/* the last pass's files; before any, those a pass could read */
	foreach(lc, st->passes > 0 ? st->files : st->all_files)
	{
		CsvFile    *f = (CsvFile *) lfirst(lc);

		appendStringInfo(&names, "%s%s", names.len ? ", " : "", f->display);
		bytes += f->size;
	}
	ExplainPropertyText("Files", names.len ? names.data : "(none)", es);
	ExplainPropertyInteger("File Bytes", NULL, bytes, es);
	if (csv_root_is_s3(&st->opts))
	{
		ExplainPropertyText("S3 Location", st->opts.root, es);
		ExplainPropertyInteger("Objects", NULL, list_length(st->passes > 0 ? st->files : st->all_files), es);
	}
	ExplainPropertyText("On Error", st->opts.on_error == ON_ERROR_STOP ? "stop" :
						st->opts.on_error == ON_ERROR_SKIP ? "skip" : "reject", es);
	ExplainPropertyText("Reject Limit", csv_reject_limit_text(&st->opts), es);
	if (es->analyze && st->scan_cxt)
	{
		/*
		 * Per pass, as PostgreSQL shows a node's rows per loop; a parallel
		 * survey's are the leader's rows and its workers'
		 */
		double		passes = Max(st->passes, 1);

		ExplainPropertyFloat("Rows Read", NULL,
							 (st->earlier_rows_read + st->rows_read + st->worker_rows_read) / passes, 0, es);
		ExplainPropertyFloat("Rows Rejected", NULL,
							 (st->earlier_rows_rejected + st->rows_rejected + st->worker_rows_rejected) / passes,
							 0, es);
		if (st->rejects)
			ExplainPropertyInteger("Scan Id", NULL, st->scan_id, es);
	}
}

/* ---------------------------------------------------------------------
 * ANALYZE: a reservoir sample over the whole scan, as file_fdw does
 * ---------------------------------------------------------------------
 */
static int
csv_acquire_sample_rows(Relation onerel, int elevel, HeapTuple *rows, int targrows,
						double *totalrows, double *totaldeadrows)
{
	TupleDesc	desc = RelationGetDescr(onerel);
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	List	   *all = NIL;
	CsvScanState *st;
	ReservoirStateData rstate;
	double		rowstoskip = -1;
	int			numrows = 0;
	int			i;
	MemoryContext tupcxt = AllocSetContextCreate(CurrentMemoryContext, "indicina_csv analyze",
												 ALLOCSET_DEFAULT_SIZES);

	for (i = 1; i <= desc->natts; i++)
		if (!TupleDescAttr(desc, i - 1)->attisdropped)
			all = lappend_int(all, i);
	st = scan_begin(onerel, all, CurrentMemoryContext, false, NULL);
	/* ANALYZE never stops on a bad row: it samples the good ones */
	if (st->opts.on_error == ON_ERROR_STOP)
		st->opts.on_error = ON_ERROR_SKIP;
	st->opts.reject_limit = -1;
	reservoir_init_selection_state(&rstate, targrows);
	*totalrows = 0;
	*totaldeadrows = 0;
	while (scan_next(st, values, nulls))
	{
		vacuum_delay_point();
		*totalrows += 1;
		if (numrows < targrows)
		{
			MemoryContext old = MemoryContextSwitchTo(tupcxt);

			rows[numrows++] = heap_form_tuple(desc, values, nulls);
			MemoryContextSwitchTo(old);
		}
		else
		{
			if (rowstoskip < 0)
				rowstoskip = reservoir_get_next_S(&rstate, *totalrows, targrows);
			if (rowstoskip <= 0)
			{
				int			k = (int) (targrows * sampler_random_fract(&rstate.randstate));
				MemoryContext old = MemoryContextSwitchTo(tupcxt);

				heap_freetuple(rows[k]);
				rows[k] = heap_form_tuple(desc, values, nulls);
				MemoryContextSwitchTo(old);
			}
			rowstoskip -= 1;
		}
	}
	scan_end(st);
	ereport(elevel,
			(errmsg("\"%s\": file contains %.0f rows (%lld rejected); %d rows in sample",
					RelationGetRelationName(onerel), *totalrows, (long long) st->rows_rejected, numrows)));
	MemoryContextDelete(st->scan_cxt);
	return numrows;
}

static bool
csvAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func, BlockNumber *totalpages)
{
	CsvOptions	opts;
	List	   *files;
	ListCell   *lc;
	int64		bytes = 0;

	csv_get_options(RelationGetRelid(relation), &opts);
	files = csv_resolve_files(&opts, true);
	foreach(lc, files)
		bytes += ((CsvFile *) lfirst(lc))->size;
	*totalpages = Max(1, (bytes + BLCKSZ - 1) / BLCKSZ);
	*func = csv_acquire_sample_rows;
	return true;
}
