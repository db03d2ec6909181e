/*-------------------------------------------------------------------------
 *
 * rules.c
 *		Row rules: the rows of indicina.quality_rules whose kind can be
 *		judged one row at a time, compiled once when an indicina_csv scan
 *		begins and checked on every row that converted cleanly.
 *
 * The rule parameters are read with one SPI query (JSON is unpacked in
 * SQL, not here) and turned into values of the column's own type, so a
 * range on a numeric column compares numerics and a range on a date
 * compares dates, with the type's btree comparison.  Only an expression
 * rule goes through the executor; the others are a comparison or two.
 * A NULL passes every kind but not_null, as in a CHECK constraint.
 *
 * The catalog is read with its owner's rights (rules_catalog_query), so a
 * role granted SELECT on a foreign table gets its rules without reading
 * the catalog; expressions are parsed under a fixed search_path from the
 * schema-qualified text add_rule checked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "common/int.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "regex/regex.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "core/cents.h"
#include "fdw/fdw.h"
#include "fdw/scan_consumer.h"
#include "quality/rules.h"
#include "quality/scan_stats.h"
#include "coerce/simple_regex.h"

#define ROW_RULE_QUERY \
	"SELECT name, kind, severity, columns[1], params->>'min', params->>'max'," \
	" coalesce((params->>'min_inclusive')::bool, true), coalesce((params->>'max_inclusive')::bool, true)," \
	" CASE WHEN jsonb_typeof(params->'values') = 'array'" \
	"      THEN ARRAY(SELECT jsonb_array_elements_text(params->'values')) END," \
	" params->>'domain', params->>'pattern', coalesce((params->>'tolerance_days')::int, 0)," \
	" coalesce(checked_sql, params->>'sql'), fail_threshold::float8, fail_threshold_percent, params->>'sql'" \
	" FROM indicina.quality_rules" \
	" WHERE relation = $1 AND enabled" \
	"   AND kind IN ('not_null', 'accepted_values', 'range', 'regex', 'length', 'not_future', 'expression')" \
	" ORDER BY name"

/*
 * accepted_values answers the same few values millions of times (a
 * narration, a status): a small direct-mapped cache of verdicts by the
 * value's bytes spares the label normalisation and the list search.
 */
#define VERDICT_SLOTS 64
#define VERDICT_MAX_LEN 48

typedef struct VerdictSlot
{
	int16		len;			/* -1: empty */
	bool		pass;
	char		bytes[VERDICT_MAX_LEN];
} VerdictSlot;

typedef struct VerdictCache
{
	VerdictSlot slot[VERDICT_SLOTS];
} VerdictCache;

/*
 * Equal bytes?  Eight at a time, inline: these values are short, and
 * libc's memcmp is an indirect call.  From 8 bytes on, the last word is
 * read ending at the last byte (overlapping the one before), so there is
 * no byte-by-byte tail.
 */
static inline bool
same_bytes(const char *a, const char *b, int len)
{
	uint64		x,
				y;
	int			i;

	if (len < 8)
	{
		for (i = 0; i < len; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	for (i = 0; i + 8 < len; i += 8)
	{
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + len - 8, 8);
	memcpy(&y, b + len - 8, 8);
	return x == y;
}

static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static Node *rule_expression_parse(Relation rel, const char *sql, char **checked);

static char *
spi_text(HeapTuple tup, TupleDesc desc, int col)
{
	return SPI_getvalue(tup, desc, col);
}

/* a parameter in the column's type, through its input function */
static Datum
param_value(RowRule *r, const char *s, const char *what)
{
	Oid			infunc,
				ioparam;

	getTypeInputInfo(r->typid, &infunc, &ioparam);
	if (s == NULL)
		elog(ERROR, "rule \"%s\" has no %s", r->name, what);
	return OidInputFunctionCall(infunc, (char *) s, ioparam, -1);
}

/*
 * Parses and type-checks the SQL of an expression rule against the
 * relation's columns: one boolean expression, no FROM, no sub-query, no
 * aggregate (the parser refuses those as it does in a CHECK constraint).
 * add_rule calls this too, so a bad expression is refused when it is
 * declared.
 */
Node *
rule_expression_compile(Relation rel, const char *sql)
{
	return rule_expression_parse(rel, sql, NULL);
}

/*
 * The search_path rules are checked and evaluated under: names outside
 * pg_catalog are schema-qualified in what add_rule stores, so the rule a
 * scan evaluates is the one that was checked, whatever the scanning
 * session's search_path.
 */
#define RULE_SEARCH_PATH "pg_catalog, pg_temp"

static int
rule_search_path_begin(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("search_path", RULE_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

/* the relation must be readable by the caller before anything locks it */
void
rule_relation_aclcheck(Oid relid)
{
	AclResult	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(get_rel_relkind(relid)), get_rel_name(relid));
}

/*
 * Runs a read-only query of the rule catalog with the catalog owner's
 * rights, as the server runs a foreign key's checks: a role granted SELECT
 * on a foreign table applies the table's rules without being able to read
 * indicina.quality_rules.  The search_path is pg_catalog's alone meanwhile,
 * so nothing the caller defined runs with the owner's rights.  The caller
 * is connected to SPI; returns SPI_processed.
 */
uint64
rules_catalog_query(const char *query, int nargs, Oid *argtypes, Datum *args, long limit)
{
	Oid			catalog = get_relname_relid("quality_rules", get_namespace_oid("indicina", false));
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(catalog));
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	int			nest;
	int			rc;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for relation %u", catalog);
	owner = ((Form_pg_class) GETSTRUCT(tp))->relowner;
	ReleaseSysCache(tp);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	nest = rule_search_path_begin();
	rc = SPI_execute_with_args(query, nargs, argtypes, args, NULL, true, limit);
	AtEOXact_GUC(false, nest);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read indicina.quality_rules");
	return SPI_processed;
}

/*
 * rule_expression_compile's work; with checked not NULL, also the
 * expression deparsed under RULE_SEARCH_PATH (every name outside
 * pg_catalog qualified), which is what add_rule stores and scans parse.
 */
static Node *
rule_expression_parse(Relation rel, const char *sql, char **checked)
{
	List	   *stmts = raw_parser(psprintf("SELECT %s", sql), RAW_PARSE_DEFAULT);
	SelectStmt *sel;
	ResTarget  *target;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	Node	   *expr;

	sel = list_length(stmts) == 1 ? (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt : NULL;
	if (sel == NULL || !IsA(sel, SelectStmt) || sel->op != SETOP_NONE || sel->fromClause ||
		sel->whereClause || sel->groupClause || sel->havingClause || sel->windowClause ||
		sel->sortClause || sel->limitCount || sel->limitOffset || sel->lockingClause ||
		sel->withClause || sel->distinctClause || sel->valuesLists || sel->intoClause ||
		list_length(sel->targetList) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rule expression must be a single SQL expression over the columns of \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("Got: %s", sql)));
	target = (ResTarget *) linitial(sel->targetList);

	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = sql;
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
	addNSItemToQuery(pstate, nsitem, true, true, true);
	expr = transformExpr(pstate, target->val, EXPR_KIND_CHECK_CONSTRAINT);
	if (exprType(expr) != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rule expression must return boolean, not %s", format_type_be(exprType(expr))),
				 errdetail("Got: %s", sql)));
	assign_expr_collations(pstate, expr);
	free_parsestate(pstate);
	if (checked)
	{
		int			nest = rule_search_path_begin();

		*checked = deparse_expression(expr, deparse_context_for(RelationGetRelationName(rel), RelationGetRelid(rel)),
									  false, false);
		AtEOXact_GUC(false, nest);
	}
	return expr;
}

/*
 * Folds a range rule's bounds into inclusive integers [lo, hi] when the
 * column's type allows (see RowRule.int_bounds).
 */
static void
fold_int_bounds(RowRule *r, int32 typmod)
{
	int64		lo = PG_INT64_MIN,
				hi = PG_INT64_MAX;

	switch (r->typid)
	{
		case INT2OID:
			r->int_width = 2;
			break;
		case INT4OID:
		case DATEOID:
			r->int_width = 4;
			break;
		case INT8OID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			r->int_width = 8;
			break;
		case NUMERICOID:
			/* numeric(p,s), 0 <= s <= 18, and bounds exact at scale s */
			r->bound_scale = cents_typmod_scale(typmod);
			if (r->bound_scale < 0 || r->bound_scale > CENTS_MAX_SCALE)
				return;
			r->int_width = 0;
			if ((r->has_min && cents_from_numeric(r->min, r->bound_scale, CENTS_EXACT, &lo) != CENTS_OK) ||
				(r->has_max && cents_from_numeric(r->max, r->bound_scale, CENTS_EXACT, &hi) != CENTS_OK))
				return;
			break;
		default:
			return;
	}
	if (r->int_width > 0)
	{
		if (r->has_min)
			lo = r->int_width == 8 ? DatumGetInt64(r->min) : r->int_width == 4 ?
				DatumGetInt32(r->min) : DatumGetInt16(r->min);
		if (r->has_max)
			hi = r->int_width == 8 ? DatumGetInt64(r->max) : r->int_width == 4 ?
				DatumGetInt32(r->max) : DatumGetInt16(r->max);
	}
	/* exclusive bounds are the next integer in */
	if (r->has_min && !r->min_inclusive && pg_add_s64_overflow(lo, 1, &lo))
		return;
	if (r->has_max && !r->max_inclusive && pg_sub_s64_overflow(hi, 1, &hi))
		return;
	r->lo = lo;
	r->hi = hi;
	r->int_bounds = true;
}

static void
free_regex(void *arg)
{
	pg_regfree((regex_t *) arg);
}

static void
rule_init_kind(RowRule *r, Relation rel, HeapTuple tup, TupleDesc desc)
{
	char	   *min = spi_text(tup, desc, 5);
	char	   *max = spi_text(tup, desc, 6);

	switch (r->kind)
	{
		case RULE_NOT_NULL:
			break;
		case RULE_ACCEPTED_VALUES:
			{
				bool		isnull;
				Datum		arr = SPI_getbinval(tup, desc, 9, &isnull);
				char	   *domain = spi_text(tup, desc, 10);
				int			i;

				if (!isnull)
				{
					Datum	   *elems;
					bool	   *enulls;

					deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT,
									  &elems, &enulls, &r->nvalues);
					r->values = palloc(sizeof(char *) * Max(r->nvalues, 1));
					for (i = 0; i < r->nvalues; i++)
						r->values[i] = TextDatumGetCString(elems[i]);
					qsort(r->values, r->nvalues, sizeof(char *), cmp_cstring);
				}
				if (domain)
					r->labels = label_map_load(domain, CurrentMemoryContext);
				r->verdicts = palloc(sizeof(VerdictCache));
				for (i = 0; i < VERDICT_SLOTS; i++)
					r->verdicts->slot[i].len = -1;
				break;
			}
		case RULE_RANGE:
		case RULE_NOT_FUTURE:
			{
				TypeCacheEntry *tce = lookup_type_cache(r->typid, TYPECACHE_CMP_PROC_FINFO);

				if (!OidIsValid(tce->cmp_proc_finfo.fn_oid))
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_FUNCTION),
							 errmsg("rule \"%s\": type %s has no ordering", r->name, format_type_be(r->typid))));
				fmgr_info_copy(&r->cmp, &tce->cmp_proc_finfo, CurrentMemoryContext);
				if (r->kind == RULE_RANGE)
				{
					r->min_inclusive = strcmp(spi_text(tup, desc, 7), "t") == 0;
					r->max_inclusive = strcmp(spi_text(tup, desc, 8), "t") == 0;
					if ((r->has_min = min != NULL))
						r->min = param_value(r, min, "min"), r->min_text = min;
					if ((r->has_max = max != NULL))
						r->max = param_value(r, max, "max"), r->max_text = max;

				}
				else
				{
					/* the last allowed day: today plus the tolerance */
					int			tolerance = atoi(spi_text(tup, desc, 12));
					DateADT		last = GetSQLCurrentDate() + tolerance;

					r->has_max = true;
					/* messages name the rule's terms, not the date, so they read the same every day */
					r->max_text = tolerance > 0 ? psprintf("today + %d days", tolerance) : "today";
					if (r->typid == DATEOID)
					{
						r->max = DateADTGetDatum(last);
						r->max_inclusive = true;
					}
					else if (r->typid == TIMESTAMPOID || r->typid == TIMESTAMPTZOID)
					{
						/* before the start of the next day */
						r->max = DirectFunctionCall1(r->typid == TIMESTAMPOID ? date_timestamp : date_timestamptz,
													 DateADTGetDatum(last + 1));
						r->max_inclusive = false;
					}
					else
						ereport(ERROR,
								(errcode(ERRCODE_DATATYPE_MISMATCH),
								 errmsg("rule \"%s\": not_future needs a date or timestamp column, and %s is %s",
										r->name, r->column, format_type_be(r->typid))));
				}
				fold_int_bounds(r, TupleDescAttr(RelationGetDescr(rel), r->att)->atttypmod);
				break;
			}
		case RULE_REGEX:
			{
				char	   *pat = spi_text(tup, desc, 11);
				int			plen = strlen(pat);
				pg_wchar   *wpat = palloc((plen + 1) * sizeof(pg_wchar));
				int			wlen = pg_mb2wchar_with_len(pat, wpat, plen);
				MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));
				int			rc;

				r->pattern = CStringGetTextDatum(pat);
				r->simple = palloc(sizeof(SimpleRegex));
				if (!simple_regex_compile(pat, r->simple))
					r->simple = NULL;
				r->regex = palloc(sizeof(regex_t));
				/* the column's collation, as PostgreSQL's ~ on the column's text uses */
				rc = pg_regcomp((regex_t *) r->regex, wpat, wlen, REG_ADVANCED,
								OidIsValid(r->collation) ? r->collation : DEFAULT_COLLATION_OID);
				if (rc != REG_OKAY)
				{
					char		msg[128];

					pg_regerror(rc, (regex_t *) r->regex, msg, sizeof(msg));
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
							 errmsg("rule \"%s\": invalid regular expression: %s", r->name, msg)));
				}
				/* the regex library mallocs: free it with the scan */
				cb->func = free_regex;
				cb->arg = r->regex;
				MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
				r->wbuf_len = 256;
				r->wbuf = palloc(r->wbuf_len * sizeof(pg_wchar));
				break;
			}
		case RULE_LENGTH:
			r->min_len = min ? atoi(min) : -1;
			r->max_len = max ? atoi(max) : -1;
			break;
		case RULE_EXPRESSION:
			{
				Node	   *expr;

				int			nest;

				/* messages quote the rule as written; what runs is what add_rule checked */
				r->sql = spi_text(tup, desc, 16);
				nest = rule_search_path_begin();
				expr = rule_expression_compile(rel, spi_text(tup, desc, 13));
				r->expr = ExecInitExpr(expression_planner((Expr *) expr), NULL);
				AtEOXact_GUC(false, nest);
				break;
			}
	}
}

static RowRuleKind
kind_of(const char *kind)
{
	static const char *const names[] = {"not_null", "accepted_values", "range", "regex", "length",
	"not_future", "expression"};
	int			i;

	for (i = 0; i < lengthof(names); i++)
		if (strcmp(kind, names[i]) == 0)
			return (RowRuleKind) i;
	elog(ERROR, "unknown row rule kind \"%s\"", kind);
	return RULE_NOT_NULL;		/* keep the compiler quiet */
}

/*
 * The enabled row rules of a relation, or NULL when it has none.  Rule
 * memory lives in mcxt (the scan's context).
 */
RowRuleSet *
row_rules_load(Relation rel, MemoryContext mcxt)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	RowRuleSet *set = NULL;
	MemoryContext old;
	uint64		n,
				i;

	/* before CREATE EXTENSION finished (or in a restore) there is no catalog yet */
	if (!OidIsValid(get_relname_relid("quality_rules", get_namespace_oid("indicina", true))))
		return NULL;

	args[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	SPI_connect();
	n = rules_catalog_query(ROW_RULE_QUERY, 1, argtypes, args, 0);
	old = MemoryContextSwitchTo(mcxt);
	if (n > 0)
	{
		TupleDesc	desc = RelationGetDescr(rel);

		set = palloc0(sizeof(RowRuleSet));
		set->nrules = (int) n;
		set->rules = palloc0(sizeof(RowRule) * n);
		set->slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(desc), &TTSOpsVirtual);
		set->econtext = CreateStandaloneExprContext();
		set->flag_rules = palloc(sizeof(RowRule *) * n);
		set->flag_messages = palloc(sizeof(char *) * n);
		set->flag_values = palloc(sizeof(char *) * n);
		for (i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	sdesc = SPI_tuptable->tupdesc;
			RowRule    *r = &set->rules[i];
			char	   *severity = spi_text(tup, sdesc, 3);
			bool		isnull;

			r->name = spi_text(tup, sdesc, 1);
			r->kind_name = spi_text(tup, sdesc, 2);
			r->kind = kind_of(r->kind_name);
			r->severity = strcmp(severity, "reject") == 0 ? SEVERITY_REJECT :
				strcmp(severity, "warn") == 0 ? SEVERITY_WARN : SEVERITY_FAIL;
			r->code = psprintf("%s:%s", r->severity == SEVERITY_REJECT ? "RULE" : "WARN", r->name);
			r->att = -1;
			r->column = spi_text(tup, sdesc, 4);
			if (r->kind != RULE_EXPRESSION)
			{
				AttrNumber	attnum = r->column ? get_attnum(RelationGetRelid(rel), r->column) : InvalidAttrNumber;
				Oid			outfunc;
				bool		varlena;

				if (attnum <= 0)
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_COLUMN),
							 errmsg("rule \"%s\" names column \"%s\", which \"%s\" does not have",
									r->name, r->column ? r->column : "", RelationGetRelationName(rel)),
							 errhint("Fix the rule with indicina.add_rule(..., replace => true) or disable it.")));
				r->att = attnum - 1;
				r->typid = TupleDescAttr(desc, r->att)->atttypid;
				r->is_text = r->typid == TEXTOID || r->typid == VARCHAROID || r->typid == BPCHAROID;
				r->collation = TupleDescAttr(desc, r->att)->attcollation;
				getTypeOutputInfo(r->typid, &outfunc, &varlena);
				fmgr_info_cxt(outfunc, &r->outfunc, mcxt);
			}
			r->fail_limit = DatumGetFloat8(SPI_getbinval(tup, sdesc, 14, &isnull));
			r->fail_percent = DatumGetBool(SPI_getbinval(tup, sdesc, 15, &isnull));
			rule_init_kind(r, rel, tup, sdesc);
			initStringInfo(&r->samples);
		}
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	return set;
}

/* the columns the rules read must be converted even when the query does not */
void
row_rules_mark_needed(const RowRuleSet *set, bool *needed)
{
	int			i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nrules; i++)
	{
		const RowRule *r = &set->rules[i];

		if (r->att >= 0)
			needed[r->att] = true;
		else
		{
			/* an expression: every column it names */
			Bitmapset  *attrs = NULL;
			int			k = -1;

			pull_varattnos((Node *) r->expr->expr, 1, &attrs);
			while ((k = bms_next_member(attrs, k)) >= 0)
			{
				AttrNumber	a = k + FirstLowInvalidHeapAttributeNumber;

				if (a > 0)
					needed[a - 1] = true;
			}
		}
	}
}

/*
 * Range rules on a numeric column compare the converter's integer form of
 * the value when it has one (an amount parsed here always has).
 */
void
row_rules_use_scaled(RowRuleSet *set, int att, const ScaledValue *scaled)
{
	int			i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nrules; i++)
		if (set->rules[i].att == att && set->rules[i].kind == RULE_RANGE && set->rules[i].typid == NUMERICOID)
			set->rules[i].scaled = scaled;
}

/* the type's ordering; by-value integer and date types without a function call */
static int
compare(RowRule *r, Datum a, Datum b)
{
	switch (r->typid)
	{
		case DATEOID:
		case INT4OID:
			return DatumGetInt32(a) < DatumGetInt32(b) ? -1 : DatumGetInt32(a) > DatumGetInt32(b);
		case INT8OID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return DatumGetInt64(a) < DatumGetInt64(b) ? -1 : DatumGetInt64(a) > DatumGetInt64(b);
		case INT2OID:
			return DatumGetInt16(a) < DatumGetInt16(b) ? -1 : DatumGetInt16(a) > DatumGetInt16(b);
		default:
			return DatumGetInt32(FunctionCall2Coll(&r->cmp, r->collation, a, b));
	}
}

/* the value as text, for messages and samples */
static char *
value_text(RowRule *r, Datum v)
{
	return OutputFunctionCall(&r->outfunc, v);
}

/*
 * The value's text without a copy for text columns (the common case, and
 * the hot path: no allocation per row), through the output function
 * otherwise.  A char(n) value's text has no trailing blanks, as its cast
 * to text (what ~, char_length and = ANY see in SQL) has none.
 */
static inline const char *
value_bytes(RowRule *r, Datum v, int *len)
{
	if (r->is_text)
	{
		text	   *t = (text *) DatumGetPointer(v);

		if (!VARATT_IS_EXTENDED(t))
		{
			*len = VARSIZE_ANY_EXHDR(t);
			if (unlikely(r->typid == BPCHAROID))
				*len = bpchartruelen(VARDATA_ANY(t), *len);
			return VARDATA_ANY(t);
		}
	}
	{
		char	   *s = value_text(r, v);

		*len = strlen(s);
		if (r->typid == BPCHAROID)
			*len = bpchartruelen(s, *len);
		return s;
	}
}

/* is (s, len) one of the sorted values? */
static bool
in_values(RowRule *r, const char *s, int len)
{
	int			lo = 0,
				hi = r->nvalues - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		const char *v = r->values[mid];
		int			c = strncmp(v, s, len);

		if (c == 0)
			c = v[len] == '\0' ? 0 : 1;
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* is (b, len) an accepted value: in the list, or a label of the domain? */
static pg_attribute_always_inline bool
accepted(RowRule *r, const char *b, int len)
{
	VerdictSlot *slot = NULL;
	CoerceError err;
	bool		pass;

	if (len <= VERDICT_MAX_LEN)
	{
		uint32		n = (uint32) len;
		uint32		h = n * 31;

		if (n > 0)
			h += (unsigned char) b[0] * 7 + (unsigned char) b[n - 1] * 13 + (unsigned char) b[n / 2];
		slot = &r->verdicts->slot[h % VERDICT_SLOTS];
		if (slot->len == len && same_bytes(slot->bytes, b, len))
			return slot->pass;
	}
	pass = (r->values && memchr(b, '\0', len) == NULL && in_values(r, b, len)) ||
		(r->labels && label_map_lookup(r->labels, b, len, &err) != NULL);
	if (slot)
	{
		slot->len = (int16) len;
		memcpy(slot->bytes, b, len);
		slot->pass = pass;
	}
	return pass;
}

/* 0 when v is within the rule's bounds, -1 below the minimum, 1 above the maximum */
static int
range_verdict(RowRule *r, Datum v)
{
	int			c;

	if (r->has_min)
	{
		c = compare(r, v, r->min);
		if (c < 0 || (c == 0 && !r->min_inclusive))
			return -1;
	}
	if (r->has_max)
	{
		c = compare(r, v, r->max);
		if (c > 0 || (c == 0 && !r->max_inclusive))
			return 1;
	}
	return 0;
}

/*
 * Characters in (b, len): the byte count for ASCII, which ids and codes
 * mostly are (checked eight bytes at a time, the last word overlapping).
 */
static int
char_length(const char *b, int len)
{
	const uint64 high = UINT64CONST(0x8080808080808080);
	uint64		w,
				any = 0;
	int			i;

	if (len < 8)
	{
		for (i = 0; i < len; i++)
			any |= (unsigned char) b[i];
		any &= 0x80;
	}
	else
	{
		for (i = 0; i + 8 < len; i += 8)
		{
			memcpy(&w, b + i, 8);
			any |= w;
		}
		memcpy(&w, b + len - 8, 8);
		any = (any | w) & high;
	}
	return any ? pg_mbstrlen_with_len(b, len) : len;
}

static bool
length_passes(RowRule *r, int len)
{
	return (r->min_len < 0 || len >= r->min_len) && (r->max_len < 0 || len <= r->max_len);
}

static int
cmp_op_kind(const void *a, const void *b)
{
	const RuleOp *x = a,
			   *y = b;

	if (x->op != y->op)
		return x->op - y->op;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* the hot path's view of each rule (RuleOp), built once per scan */
static void
build_ops(RowRuleSet *set)
{
	int			i;

	set->ops = MemoryContextAllocZero(GetMemoryChunkContext(set), sizeof(RuleOp) * set->nrules);
	for (i = 0; i < set->nrules; i++)
	{
		RowRule    *r = &set->rules[i];
		RuleOp	   *o = &set->ops[i];

		o->rule = r;
		o->att = (int16) r->att;
		o->op = OP_SLOW;
		switch (r->kind)
		{
			case RULE_NOT_NULL:
				o->op = OP_NOT_NULL;
				break;
			case RULE_RANGE:
			case RULE_NOT_FUTURE:
				if (r->int_bounds && r->int_width > 0)
					o->op = OP_INT_RANGE;
				else if (r->int_bounds && r->scaled)
					o->op = OP_SCALED_RANGE;
				o->int_width = (uint8) r->int_width;
				o->bound_scale = r->bound_scale;
				o->lo = r->lo;
				o->hi = r->hi;
				o->scaled = r->scaled;
				break;
			case RULE_ACCEPTED_VALUES:
				o->op = OP_ACCEPTED;
				break;
			case RULE_REGEX:
				if (r->simple)
					o->op = OP_REGEX;
				break;
			case RULE_LENGTH:
				o->op = OP_LENGTH;
				break;
			case RULE_EXPRESSION:
				set->has_expression = true;
				break;
		}
	}
	/*
	 * Sorted by kind, each kind checked in its own loop: no per-rule dispatch,
	 * whose indirect jump a CPU mispredicts as the kinds alternate.
	 */
	qsort(set->ops, set->nrules, sizeof(RuleOp), cmp_op_kind);
	for (i = 0; i < set->nrules; i++)
		set->op_end[set->ops[i].op] = i + 1;
	for (i = 1; i < OP_KINDS; i++)
		set->op_end[i] = Max(set->op_end[i], set->op_end[i - 1]);
}

/*
 * The hot path: does the row pass every rule?  No allocation and no
 * message; false sends the row to check_one rule by rule, which decides and
 * says why (an expression rule and a regex the fast matcher cannot settle
 * always go there).
 */
static inline bool
all_pass(const RowRuleSet *set, Datum *values, bool *nulls)
{
	const RuleOp *ops = set->ops;
	const int  *end = set->op_end;
	int			i = 0;
	int			len;
	const char *b;

	if (end[OP_SLOW] > end[OP_LENGTH])
		return false;
	for (; i < end[OP_NOT_NULL]; i++)
		if (nulls[ops[i].att])
			return false;
	for (; i < end[OP_INT_RANGE]; i++)
	{
		const RuleOp *o = &ops[i];
		Datum		v = values[o->att];
		int64		x;

		if (nulls[o->att])
			continue;
		x = o->int_width == 4 ? DatumGetInt32(v) : o->int_width == 8 ? DatumGetInt64(v) : DatumGetInt16(v);
		if (x < o->lo || x > o->hi)
			return false;
	}
	for (; i < end[OP_SCALED_RANGE]; i++)
	{
		const RuleOp *o = &ops[i];
		int64		x;

		if (nulls[o->att])
			continue;
		if (cents_from_scaled(o->scaled, o->bound_scale, &x))
		{
			if (x < o->lo || x > o->hi)
				return false;
		}
		else if (range_verdict(o->rule, values[o->att]) != 0)
			return false;
	}
	for (; i < end[OP_ACCEPTED]; i++)
	{
		if (nulls[ops[i].att])
			continue;
		b = value_bytes(ops[i].rule, values[ops[i].att], &len);
		if (!accepted(ops[i].rule, b, len))
			return false;
	}
	for (; i < end[OP_REGEX]; i++)
	{
		if (nulls[ops[i].att])
			continue;
		b = value_bytes(ops[i].rule, values[ops[i].att], &len);
		if (simple_regex_match_inline(ops[i].rule->simple, b, len) != SR_MATCH)
			return false;
	}
	for (; i < end[OP_LENGTH]; i++)
	{
		if (nulls[ops[i].att])
			continue;
		b = value_bytes(ops[i].rule, values[ops[i].att], &len);
		if (!length_passes(ops[i].rule, char_length(b, len)))
			return false;
	}
	return true;
}

/*
 * Checks one rule; NULL when the row passes, else the reason.  *value gets
 * the offending value's text.
 */
static char *
check_one(RowRuleSet *set, RowRule *r, Datum *values, bool *nulls, char **value)
{
	Datum		v = r->att >= 0 ? values[r->att] : (Datum) 0;
	bool		isnull = r->att >= 0 ? nulls[r->att] : false;

	*value = NULL;
	if (r->kind == RULE_NOT_NULL)
		return isnull ? psprintf("%s is empty.", r->column) : NULL;
	if (r->kind == RULE_EXPRESSION)
	{
		bool		resnull;
		Datum		res;

		set->econtext->ecxt_scantuple = set->slot;
		res = ExecEvalExprSwitchContext(r->expr, set->econtext, &resnull);
		ResetExprContext(set->econtext);
		return resnull || DatumGetBool(res) ? NULL : psprintf("The row does not satisfy %s.", r->sql);
	}
	if (isnull)
		return NULL;

	switch (r->kind)
	{
		case RULE_ACCEPTED_VALUES:
			{
				int			len;
				const char *b = value_bytes(r, v, &len);

				if (accepted(r, b, len))
					return NULL;
				*value = pnstrdup(b, len);
				return psprintf("%s \"%s\" is not an accepted value%s%s%s.", r->column, *value,
								r->labels ? " (" : "", r->labels ? r->labels->known : "", r->labels ? ")" : "");
			}
		case RULE_RANGE:
		case RULE_NOT_FUTURE:
			{
				int			c = range_verdict(r, v);

				if (c == 0)
					return NULL;
				*value = value_text(r, v);
				if (c < 0)
					return psprintf("%s %s is %s %s.", r->column, *value,
									r->min_inclusive ? "below the minimum" : "not above", r->min_text);
				if (r->kind == RULE_NOT_FUTURE)
					return psprintf("%s %s is in the future (after %s).", r->column, *value, r->max_text);
				return psprintf("%s %s is %s %s.", r->column, *value,
								r->max_inclusive ? "above the maximum" : "not below", r->max_text);
			}
		case RULE_REGEX:
			{
				int			len;
				const char *b = value_bytes(r, v, &len);
				int			wlen;
				int			rc = r->simple ? simple_regex_match(r->simple, b, len) : SR_UNSURE;

				if (rc == SR_MATCH)
					return NULL;
				if (rc == SR_NO_MATCH)
				{
					*value = pnstrdup(b, len);
					return psprintf("%s \"%s\" does not match %s.", r->column, *value, TextDatumGetCString(r->pattern));
				}
				if (len + 1 > r->wbuf_len)
				{
					r->wbuf_len = len + 1;
					r->wbuf = MemoryContextAlloc(GetMemoryChunkContext(r->wbuf), r->wbuf_len * sizeof(pg_wchar));
				}
				wlen = pg_mb2wchar_with_len(b, r->wbuf, len);
				rc = pg_regexec((regex_t *) r->regex, r->wbuf, wlen, 0, NULL, 0, NULL, 0);
				if (rc == REG_OKAY)
					return NULL;
				if (rc != REG_NOMATCH)
					elog(ERROR, "rule \"%s\": regular expression failed (%d)", r->name, rc);
				*value = pnstrdup(b, len);
				return psprintf("%s \"%s\" does not match %s.", r->column, *value, TextDatumGetCString(r->pattern));
			}
		case RULE_LENGTH:
			{
				int			blen;
				const char *b = value_bytes(r, v, &blen);
				int			len = char_length(b, blen);
				char	   *s = (char *) b;

				if (!length_passes(r, len))
				{
					*value = s = pnstrdup(b, blen);
					if (r->min_len >= 0 && len < r->min_len)
						return psprintf("%s \"%s\" has %d characters, fewer than %d.", r->column, s, len, r->min_len);
					return psprintf("%s \"%s\" has %d characters, more than %d.", r->column, s, len, r->max_len);
				}
				return NULL;
			}
		default:
			return NULL;
	}
}

/*
 * Rule i of the set on one row, judged as the scan judges it (check_one):
 * NULL when the row passes, else why, with *value the offending value's
 * text.  The SQL path over plain tables and batches (rule_verdicts.c)
 * calls it, so a row rule has one implementation.  The caller has stored
 * the row in set->slot (row_rules_store_row) when the set has expression
 * rules.
 */
char *
row_rule_judge(RowRuleSet *set, int i, Datum *values, bool *nulls, char **value)
{
	return check_one(set, &set->rules[i], values, nulls, value);
}

/* Stores a converted row in set->slot, where the expression rules read it. */
void
row_rules_store_row(RowRuleSet *set, Datum *values, bool *nulls)
{
	TupleTableSlot *slot = set->slot;
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * natts);
	memcpy(slot->tts_isnull, nulls, sizeof(bool) * natts);
	ExecStoreVirtualTuple(slot);
}

static void
add_sample(RowRule *r, const char *file, int64 line, const char *value)
{
	rule_sample_append(&r->samples, &r->nsamples, file, line, value, NULL);
}

/*
 * Runs every rule on a converted row.  The verdict names the first reject
 * rule it failed (the row is then quarantined once, under that rule) and
 * the warn and fail rules it failed (the row is loaded and flagged).
 */
void
row_rules_check(RowRuleSet *set, Datum *values, bool *nulls, const char *file, int64 line,
				RuleVerdict *verdict)
{
	int			i;

	if (unlikely(set->ops == NULL))
		build_ops(set);
	if (set->has_expression)
		row_rules_store_row(set, values, nulls);
	set->checked++;
	verdict->reject = NULL;
	verdict->nflags = 0;
	verdict->flags = set->flag_rules;
	verdict->flag_messages = set->flag_messages;
	verdict->flag_values = set->flag_values;
	/* most rows pass every rule: only a row that fails one is judged rule by rule */
	if (likely(all_pass(set, values, nulls)))
		return;
	/* in the rules' own order (by name), so the first reject rule is the same every time */
	for (i = 0; i < set->nrules; i++)
	{
		RowRule    *r = &set->rules[i];
		char	   *value;
		char	   *why;

		why = check_one(set, r, values, nulls, &value);
		if (why == NULL)
			continue;
		r->failed++;
		add_sample(r, file, line, value);
		if (r->severity == SEVERITY_REJECT)
		{
			if (verdict->reject == NULL)
			{
				verdict->reject = r;
				verdict->message = why;
				verdict->value = value;
			}
			continue;
		}
		verdict->flags[verdict->nflags] = r;
		verdict->flag_messages[verdict->nflags] = why;
		verdict->flag_values[verdict->nflags] = value;
		verdict->nflags++;
	}
}

/*
 * A fail rule past its threshold stops the scan: counts as soon as they
 * are passed, percentages at the end of the scan.
 */
void
row_rules_check_fail(RowRuleSet *set, const char *relname, Oid relid, int64 scan_id, bool at_end)
{
	int			i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nrules; i++)
	{
		RowRule    *r = &set->rules[i];

		if (r->severity != SEVERITY_FAIL ||
			!rule_over_threshold(r->failed, set->checked, r->fail_limit, r->fail_percent, at_end))
			continue;
		/* the counts so far are what the run's failure record reports */
		scan_stats_rules(scan_id, relid, set);
		rule_threshold_error(r->name, r->failed, set->checked, relname, r->fail_limit, r->fail_percent,
							 r->samples.data);
	}
}

/* a rescan reads the rows again: every rule starts from nothing */
void
row_rules_reset(RowRuleSet *set)
{
	int			i;

	if (set == NULL)
		return;
	set->checked = 0;
	for (i = 0; i < set->nrules; i++)
	{
		set->rules[i].failed = 0;
		set->rules[i].nsamples = 0;
		resetStringInfo(&set->rules[i].samples);
	}
}

/*
 * One failing row into a rule's samples (a JSON array's elements), up to
 * RULE_SAMPLES of them; detail only when given.  Row and set rules alike.
 */
void
rule_sample_append(StringInfo s, int *nsamples, const char *file, int64 line, const char *value,
				   const char *detail)
{
	if (*nsamples >= RULE_SAMPLES)
		return;
	appendStringInfoString(s, (*nsamples)++ ? ", {\"file\": " : "{\"file\": ");
	escape_json(s, file);
	appendStringInfo(s, ", \"line\": %lld, \"value\": ", (long long) line);
	if (value)
		escape_json(s, value);
	else
		appendStringInfoString(s, "null");
	if (detail)
	{
		appendStringInfoString(s, ", \"detail\": ");
		escape_json(s, detail);
	}
	appendStringInfoChar(s, '}');
}

/*
 * Is a fail rule past its threshold?  A count as soon as it is passed, a
 * percentage of the rows checked only at the end of the scan.
 */
bool
rule_over_threshold(int64 failed, int64 checked, double limit, bool percent, bool at_end)
{
	if (failed == 0)
		return false;
	if (percent)
		return at_end && 100.0 * failed / Max(checked, 1) > limit;
	return failed > limit;
}

/*
 * samples (rule_sample_append's elements) with only their files and lines:
 * what the server log may show of failing rows unless
 * indicina.log_raw_rows is on.
 */
static char *
samples_without_values(const char *samples)
{
	Jsonb	   *arr = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("[%s]", samples))));
	StringInfoData out;
	int			i,
				n = JB_ROOT_COUNT(arr);

	initStringInfo(&out);
	for (i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&arr->root, i);
		JsonbValue	file,
					line;

		if (elem == NULL || elem->type != jbvBinary ||
			!getKeyJsonValueFromContainer(elem->val.binary.data, "file", 4, &file) ||
			!getKeyJsonValueFromContainer(elem->val.binary.data, "line", 4, &line))
			continue;
		appendStringInfoString(&out, out.len ? ", {\"file\": " : "{\"file\": ");
		if (file.type == jbvString)
			escape_json(&out, pnstrdup(file.val.string.val, file.val.string.len));
		else
			appendStringInfoString(&out, "null");
		appendStringInfo(&out, ", \"line\": %s}",
						 line.type == jbvNumeric ?
						 DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(line.val.numeric))) :
						 "null");
	}
	return out.data;
}

/* a fail rule past its threshold: the error that stops the scan (row and set rules alike) */
void
rule_threshold_error(const char *name, int64 failed, int64 checked, const char *relname, double limit,
					 bool percent, const char *samples)
{
	if (!indicina_log_raw_rows)
		samples = samples_without_values(samples);
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("quality rule \"%s\" failed on %lld of %lld rows of %s, above its threshold %g%s",
					name, (long long) failed, (long long) checked, relname, limit, percent ? "%" : ""),
			 errdetail("Failing rows: [%s]", samples),
			 errhint("Rules of severity fail stop the run; fix the data or change the rule's threshold.")));
}

/*
 * indicina.check_rule_expression(relation, sql): add_rule's check of an
 * expression rule; returns what add_rule stores and scans evaluate.
 */
PG_FUNCTION_INFO_V1(indicina_check_rule_expression);
Datum
indicina_check_rule_expression(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	char	   *checked;

	rule_relation_aclcheck(relid);
	rel = relation_open(relid, AccessShareLock);
	rule_expression_parse(rel, text_to_cstring(PG_GETARG_TEXT_PP(1)), &checked);
	relation_close(rel, AccessShareLock);
	PG_RETURN_TEXT_P(cstring_to_text(checked));
}

/* ---------------------------------------------------------------------
 * Row rules as a scan consumer (fdw/scan_consumer.h)
 * ---------------------------------------------------------------------
 */

typedef struct RowRulesConsumer
{
	RowRuleSet *set;
	RuleVerdict verdict;
} RowRulesConsumer;

/* planning a survey: the rules' columns; an expression rule keeps it out of workers */
static void
row_rules_plan(Relation rel, bool *needed, bool *parallel_safe)
{
	RowRuleSet *set = row_rules_load(rel, CurrentMemoryContext);

	int			i;

	row_rules_mark_needed(set, needed);
	for (i = 0; set && i < set->nrules; i++)
		if (set->rules[i].kind == RULE_EXPRESSION)
			*parallel_safe = false;
}

static void *
row_rules_take(ScanHandle *scan, MemoryContext mcxt)
{
	RowRuleSet *set = row_rules_load(scan_info(scan)->rel, mcxt);
	RowRulesConsumer *c;

	if (set == NULL)
		return NULL;
	c = MemoryContextAllocZero(mcxt, sizeof(RowRulesConsumer));
	c->set = set;
	return c;
}

static void
row_rules_columns(void *state, bool *needed)
{
	row_rules_mark_needed(((RowRulesConsumer *) state)->set, needed);
}

static void
row_rules_scaled(void *state, int att, const ScaledValue *scaled)
{
	row_rules_use_scaled(((RowRulesConsumer *) state)->set, att, scaled);
}

/*
 * A reject rule's failure quarantines the row; a warn or fail rule's flags
 * it (a WARN:<name> record) and the row goes on.
 */
static bool
row_rules_row(void *state, ScanHandle *scan, Datum *values, bool *nulls)
{
	RowRulesConsumer *c = state;
	RuleVerdict *v = &c->verdict;
	int			i;

	row_rules_check(c->set, values, nulls, scan_file_name(scan, scan_file_count(scan) - 1), scan_line(scan), v);
	if (v->reject)
	{
		scan_quarantine_row(scan, v->reject->code, v->reject->column, v->value, v->message);
		return false;
	}
	if (v->nflags > 0)
	{
		for (i = 0; i < v->nflags; i++)
			scan_flag_row(scan, v->flags[i]->code, v->flags[i]->column, v->flag_values[i], v->flag_messages[i]);
		if (!scan_info(scan)->dry_run)
			row_rules_check_fail(c->set, scan_info(scan)->relname, scan_info(scan)->relid, scan_info(scan)->scan_id, false);
	}
	return true;
}

static void
row_rules_rescan(void *state)
{
	row_rules_reset(((RowRulesConsumer *) state)->set);
}

static void
row_rules_end(void *state, ScanHandle *scan)
{
	if (!scan_info(scan)->dry_run)
		row_rules_check_fail(((RowRulesConsumer *) state)->set, scan_info(scan)->relname, scan_info(scan)->relid,
							 scan_info(scan)->scan_id, true);
}

static void
row_rules_stats(void *state, ScanHandle *scan)
{
	scan_stats_rules(scan_info(scan)->scan_id, scan_info(scan)->relid, ((RowRulesConsumer *) state)->set);
}

const ScanConsumerKind row_rules_consumer = {
	.name = "row rules",
	.plan = row_rules_plan,
	.take = row_rules_take,
	.columns_needed = row_rules_columns,
	.use_scaled = row_rules_scaled,
	.row = row_rules_row,
	.rescan = row_rules_rescan,
	.end = row_rules_end,
	.stats = row_rules_stats,
};
