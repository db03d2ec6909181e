/*-------------------------------------------------------------------------
 *
 * rule_verdicts.c
 *		The row rules of a relation judged over the rows of a table (a plain
 *		table, or the batch stage() made of it) with the code the
 *		indicina_csv scan runs: the same compiled RowRuleSet, the same
 *		per-rule verdict (row_rule_judge), the same choice of which failure
 *		is recorded.  So a row rule means one thing on every path.
 *
 * indicina.row_rule_failures(relation, batch) returns one row per failing
 * (row, rule): the row's ctid, the rule, the offending value, why, and
 * whether the failure is recorded.  As in the scan (apply_rules in
 * fdw.c), every rule judges every row and counts it; a row is quarantined
 * once, under the first reject rule it fails (rules in name order), and a
 * quarantined row is not also flagged by its warn and fail rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "quality/rules.h"

#define FAILURE_COLUMNS 5

/*
 * For each attribute of the relation the rules read, the batch's attribute
 * of the same name (0-based), or -1 for one the rules do not read.  A
 * batch lacking such a column, or holding it in another type, is refused:
 * the rules would judge something else.
 */
static int *
map_batch_columns(const RowRuleSet *set, Relation rel, Relation batch)
{
	TupleDesc	rdesc = RelationGetDescr(rel);
	TupleDesc	bdesc = RelationGetDescr(batch);
	bool	   *needed = palloc0(sizeof(bool) * Max(rdesc->natts, 1));
	int		   *map = palloc(sizeof(int) * Max(rdesc->natts, 1));
	int			i,
				j;

	row_rules_mark_needed(set, needed);
	for (i = 0; i < rdesc->natts; i++)
	{
		Form_pg_attribute ra = TupleDescAttr(rdesc, i);

		map[i] = -1;
		if (!needed[i] || ra->attisdropped)
			continue;
		for (j = 0; j < bdesc->natts; j++)
		{
			Form_pg_attribute ba = TupleDescAttr(bdesc, j);

			if (!ba->attisdropped && strcmp(NameStr(ba->attname), NameStr(ra->attname)) == 0)
				break;
		}
		if (j == bdesc->natts)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("\"%s\" has no column \"%s\", which the rules of \"%s\" read",
							RelationGetRelationName(batch), NameStr(ra->attname), RelationGetRelationName(rel))));
		if (TupleDescAttr(bdesc, j)->atttypid != ra->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of \"%s\" is %s, and the rules of \"%s\" judge %s",
							NameStr(ra->attname), RelationGetRelationName(batch),
							format_type_be(TupleDescAttr(bdesc, j)->atttypid), RelationGetRelationName(rel),
							format_type_be(ra->atttypid))));
		map[i] = j;
	}
	return map;
}

/*
 * One row of the batch through every rule, its failures into the result.
 * why and value have room for every rule.  Runs in a per-row context.
 */
static void
judge_row(RowRuleSet *set, bool has_expression, Datum *values, bool *nulls, ItemPointer tid, char **why,
		  char **value, ReturnSetInfo *rsinfo)
{
	int			first_reject = -1;
	int			i;

	if (has_expression)
		row_rules_store_row(set, values, nulls);
	for (i = 0; i < set->nrules; i++)
	{
		why[i] = row_rule_judge(set, i, values, nulls, &value[i]);
		if (why[i] && first_reject < 0 && set->rules[i].severity == SEVERITY_REJECT)
			first_reject = i;
	}
	for (i = 0; i < set->nrules; i++)
	{
		Datum		out[FAILURE_COLUMNS];
		bool		outnull[FAILURE_COLUMNS] = {false};

		if (why[i] == NULL)
			continue;
		out[0] = PointerGetDatum(tid);
		out[1] = CStringGetTextDatum(set->rules[i].name);
		out[2] = value[i] ? CStringGetTextDatum(value[i]) : (Datum) 0;
		outnull[2] = value[i] == NULL;
		out[3] = CStringGetTextDatum(why[i]);
		/* recorded: a quarantined row under its first reject rule only, a row that loads under each rule */
		out[4] = BoolGetDatum(first_reject < 0 || first_reject == i);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnull);
	}
}

/*
 * indicina.row_rule_failures(relation regclass, batch regclass) RETURNS
 * TABLE (row_ctid tid, rule text, value text, detail text, recorded
 * boolean): the rows of table batch (relation itself when NULL) that fail
 * the enabled row rules of relation, judged as an indicina_csv scan of
 * relation judges its rows.  batch holds relation's columns by name.
 */
PG_FUNCTION_INFO_V1(indicina_row_rule_failures);
Datum
indicina_row_rule_failures(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	Oid			batchid;
	Relation	rel;
	Relation	batch;
	MemoryContext rules_cxt;
	MemoryContext row_cxt;
	MemoryContext old;
	RowRuleSet *set;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	relid = PG_GETARG_OID(0);
	batchid = PG_ARGISNULL(1) ? relid : PG_GETARG_OID(1);

	rule_relation_aclcheck(relid);
	rule_relation_aclcheck(batchid);
	rel = relation_open(relid, AccessShareLock);
	batch = relation_open(batchid, AccessShareLock);
	if (batch->rd_rel->relkind != RELKIND_RELATION && batch->rd_rel->relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(batch)),
				 errhint("Row rules over a foreign table are judged by its scan; judge a batch of it here.")));

	rules_cxt = AllocSetContextCreate(CurrentMemoryContext, "indicina row rule verdicts", ALLOCSET_DEFAULT_SIZES);
	row_cxt = AllocSetContextCreate(rules_cxt, "indicina row rule verdict", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(rules_cxt);
	set = row_rules_load(rel, rules_cxt);
	if (set != NULL)
	{
		TupleDesc	rdesc = RelationGetDescr(rel);
		int		   *map = map_batch_columns(set, rel, batch);
		Datum	   *values = palloc0(sizeof(Datum) * Max(rdesc->natts, 1));
		bool	   *nulls = palloc(sizeof(bool) * Max(rdesc->natts, 1));
		char	  **why = palloc(sizeof(char *) * set->nrules);
		char	  **value = palloc(sizeof(char *) * set->nrules);
		TableScanDesc scan = table_beginscan(batch, GetActiveSnapshot(), 0, NULL);
		TupleTableSlot *slot = table_slot_create(batch, NULL);
		bool		has_expression = false;
		int			i;

		/* (the set's own has_expression is set by the scan's first row) */
		for (i = 0; i < set->nrules; i++)
			has_expression |= set->rules[i].kind == RULE_EXPRESSION;
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			CHECK_FOR_INTERRUPTS();
			MemoryContextSwitchTo(row_cxt);
			slot_getallattrs(slot);
			for (i = 0; i < rdesc->natts; i++)
			{
				nulls[i] = map[i] < 0 || slot->tts_isnull[map[i]];
				values[i] = nulls[i] ? (Datum) 0 : slot->tts_values[map[i]];
			}
			judge_row(set, has_expression, values, nulls, &slot->tts_tid, why, value, rsinfo);
			MemoryContextSwitchTo(rules_cxt);
			MemoryContextReset(row_cxt);
		}
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rules_cxt);
	relation_close(batch, AccessShareLock);
	relation_close(rel, AccessShareLock);
	return (Datum) 0;
}
