/*-------------------------------------------------------------------------
 *
 * scan_stats.c
 *		What the indicina_csv scans of this session counted, per file and
 *		per row rule, for the caller to read back after the statement:
 *		indicina.scan_file_stats() and indicina.scan_rule_stats().
 *
 * A pipeline run loads with INSERT ... SELECT and then needs, per file,
 * rows read, rejected and warned (for its ledger and the invariant
 * read = loaded + rejected) and, per rule, rows checked and failed with a
 * few samples (for the quality results).  The executor has no channel for
 * that, so each scan leaves its counts here, in session memory, when it
 * ends; indicina.reset_scan_stats() empties the list.  A session that never
 * resets keeps the last SCAN_STATS_MAX entries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "fdw/scan_consumer.h"
#include "quality/scan_stats.h"

#define SCAN_STATS_MAX 10000

/* which scan of which relation an entry is of: the first member of each */
typedef struct StatKey
{
	int64		scan_id;
	Oid			relid;
} StatKey;

typedef struct FileStat
{
	StatKey		key;
	char	   *file;
	int64		rows_read;
	int64		rows_rejected;
	int64		rows_quarantined;
	int64		rows_warned;
} FileStat;

typedef struct RuleStat
{
	StatKey		key;
	char	   *rule;
	char	   *kind;
	char	   *severity;
	char	   *phase;			/* row, or set (a set rule judged in the scan) */
	int64		checked;
	int64		failed;
	char	   *samples;		/* JSON array text */
} RuleStat;

static MemoryContext stats_cxt = NULL;
static List *file_stats = NIL;
static List *rule_stats = NIL;

static MemoryContext
stats_context(void)
{
	if (stats_cxt == NULL)
		stats_cxt = AllocSetContextCreate(TopMemoryContext, "indicina scan stats", ALLOCSET_SMALL_SIZES);
	if (list_length(file_stats) + list_length(rule_stats) > SCAN_STATS_MAX)
	{
		MemoryContextReset(stats_cxt);
		file_stats = rule_stats = NIL;
	}
	return stats_cxt;
}

void
scan_stats_file(int64 scan_id, Oid relid, const char *file, int64 rows_read, int64 rows_rejected,
				int64 rows_quarantined, int64 rows_warned)
{
	MemoryContext old = MemoryContextSwitchTo(stats_context());
	FileStat   *s = palloc(sizeof(FileStat));

	s->key.scan_id = scan_id;
	s->key.relid = relid;
	s->file = pstrdup(file);
	s->rows_read = rows_read;
	s->rows_rejected = rows_rejected;
	s->rows_quarantined = rows_quarantined;
	s->rows_warned = rows_warned;
	file_stats = lappend(file_stats, s);
	MemoryContextSwitchTo(old);
}

void
scan_stats_rule(int64 scan_id, Oid relid, const char *rule, const char *kind, const char *severity,
				const char *phase, int64 checked, int64 failed, const char *samples)
{
	MemoryContext old = MemoryContextSwitchTo(stats_context());
	RuleStat   *s = palloc(sizeof(RuleStat));

	s->key.scan_id = scan_id;
	s->key.relid = relid;
	s->rule = pstrdup(rule);
	s->kind = pstrdup(kind);
	s->severity = pstrdup(severity);
	s->phase = pstrdup(phase);
	s->checked = checked;
	s->failed = failed;
	s->samples = psprintf("[%s]", samples);
	rule_stats = lappend(rule_stats, s);
	MemoryContextSwitchTo(old);
}

void
scan_stats_rules(int64 scan_id, Oid relid, const RowRuleSet *set)
{
	int			i;

	for (i = 0; i < set->nrules; i++)
	{
		const RowRule *r = &set->rules[i];

		scan_stats_rule(scan_id, relid, r->name, r->kind_name,
						r->severity == SEVERITY_REJECT ? "reject" : r->severity == SEVERITY_WARN ? "warn" : "fail",
						"row", set->checked, r->failed, r->samples.data);
	}
}

/* the columns of a row of scan_file_stats() or scan_rule_stats(), at most */
#define STATS_COLUMNS 9

typedef void (*StatsRow) (const void *entry, Datum *values, bool *nulls);

/*
 * Returns the entries of list as the rows of the calling SRF: the scan id
 * (NULL when there is none) and relation of each entry's key, then the
 * columns row makes of it.
 */
static Datum
stats_srf(FunctionCallInfo fcinfo, List *list, StatsRow row)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, list)
	{
		const StatKey *key = lfirst(lc);
		Datum		values[STATS_COLUMNS];
		bool		nulls[STATS_COLUMNS] = {0};

		values[0] = Int64GetDatum(key->scan_id);
		nulls[0] = key->scan_id == 0;
		values[1] = ObjectIdGetDatum(key->relid);
		row(key, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

static void
file_stat_row(const void *entry, Datum *values, bool *nulls)
{
	const FileStat *s = entry;

	values[2] = CStringGetTextDatum(s->file);
	values[3] = Int64GetDatum(s->rows_read);
	values[4] = Int64GetDatum(s->rows_rejected);
	values[5] = Int64GetDatum(s->rows_quarantined);
	values[6] = Int64GetDatum(s->rows_warned);
}

static void
rule_stat_row(const void *entry, Datum *values, bool *nulls)
{
	const RuleStat *s = entry;

	values[2] = CStringGetTextDatum(s->rule);
	values[3] = CStringGetTextDatum(s->kind);
	values[4] = CStringGetTextDatum(s->severity);
	values[5] = Int64GetDatum(s->checked);
	values[6] = Int64GetDatum(s->failed);
	values[7] = DirectFunctionCall1(jsonb_in, CStringGetDatum(s->samples));
	values[8] = CStringGetTextDatum(s->phase);
}

PG_FUNCTION_INFO_V1(indicina_scan_file_stats);
Datum
indicina_scan_file_stats(PG_FUNCTION_ARGS)
{
	return stats_srf(fcinfo, file_stats, file_stat_row);
}

PG_FUNCTION_INFO_V1(indicina_scan_rule_stats);
Datum
indicina_scan_rule_stats(PG_FUNCTION_ARGS)
{
	return stats_srf(fcinfo, rule_stats, rule_stat_row);
}

PG_FUNCTION_INFO_V1(indicina_reset_scan_stats);
Datum
indicina_reset_scan_stats(PG_FUNCTION_ARGS)
{
	if (stats_cxt)
		MemoryContextReset(stats_cxt);
	file_stats = rule_stats = NIL;
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * File counts as a scan consumer (fdw/scan_consumer.h): every load's
 * ---------------------------------------------------------------------
 */

static void *
file_stats_take(ScanHandle *scan, MemoryContext mcxt)
{
	/* nothing of its own to keep: the scan counts, this saves */
	return MemoryContextAllocZero(mcxt, 1);
}

static void
file_stats_save(void *state, ScanHandle *scan)
{
	int			i;

	for (i = 0; i < scan_file_count(scan); i++)
	{
		ScanFileCounts c;

		scan_file_counts(scan, i, &c);
		scan_stats_file(scan_info(scan)->scan_id, scan_info(scan)->relid, scan_file_name(scan, i), c.rows_read,
						c.rows_rejected, c.rows_quarantined, c.rows_warned);
	}
}

const ScanConsumerKind file_stats_consumer = {
	.name = "file statistics",
	.take = file_stats_take,
	.stats = file_stats_save,
};
