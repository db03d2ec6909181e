/*-------------------------------------------------------------------------
 *
 * month_flows.c
 *		agg_customer_month accumulated inside the scan that loads the
 *		transactions.
 *
 * run_pipeline inserts the transactions straight from the indicina_csv
 * scan into the fact.  Reading the new fact rows back for the
 * customer-month aggregate would be a second pass over millions of rows
 * and a hash aggregate of a million groups.  The scan has every row in
 * hand already, so run_pipeline arms this accumulator
 * (indicina.arm_month_flows) and the scan adds each row it returns, the
 * rows the fact gets; indicina.scan_month_flows() then returns one row
 * per customer and month, in key order, exactly what indicina.month_flow
 * computes over the fact (sums in cents, the closing balance of the last
 * transaction by date, file and line, the minimum balance, a salary-like
 * credit).  run_pipeline uses it only for months that had no transactions
 * before the run; a month that had is recomputed from the fact.
 *
 * Memory: a table of 72-byte entries, at most 90% full, plus the customer
 * ids, in a context of the transaction's state (core/txn_state.h), freed
 * when the rows are handed over.  Past hash_mem (work_mem x
 * hash_mem_multiplier, what a hash aggregate may use) the scan gives the
 * accumulator up and run_pipeline reads the fact instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/nodeHash.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "core/cents.h"
#include "core/txn_state.h"
#include "fdw/scan_consumer.h"
#include "warehouse/month_flows.h"
#include "warehouse/warehouse.h"

/*
 * A customer id of up to FLOW_INLINE_ID bytes (most are) is kept in the key
 * itself: comparing a probe with an entry of a table of a million then
 * reads no second, scattered cache line, neither while the scan adds rows
 * nor while the hand-over reads them in key order.  Longer ids point at
 * the entry's own copy.
 */
#define FLOW_INLINE_ID 16

typedef struct FlowKey
{
	int32		len;
	DateADT		month;			/* first day of the month */
	union
	{
		char		bytes[FLOW_INLINE_ID];	/* len <= FLOW_INLINE_ID */
		const char *ptr;		/* longer */
	}			id;
} FlowKey;

static inline const char *
flow_id(const FlowKey *k)
{
	return k->len <= FLOW_INLINE_ID ? k->id.bytes : k->id.ptr;
}

typedef struct FlowEntry
{
	FlowKey		key;
	uint32		hash;
	char		status;
	FlowTotals	t;
} FlowEntry;

static inline uint32
flow_key_hash(const FlowKey *k)
{
	return hash_combine(hash_bytes((const unsigned char *) flow_id(k), k->len), murmurhash32((uint32) k->month));
}

#define SH_PREFIX flowtab
#define SH_ELEMENT_TYPE FlowEntry
#define SH_KEY_TYPE FlowKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) flow_key_hash(&(k))
#define SH_EQUAL(tb, a, b) ((a).month == (b).month && (a).len == (b).len && \
						   memcmp(flow_id(&(a)), flow_id(&(b)), (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) (a)->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct MonthFlows
{
	Oid			relid;
	MemoryContext cxt;			/* of the transaction: outlives the scan */
	int			customer;		/* 0-based attribute numbers */
	int			date;
	int			amount;
	int			balance;
	int			narration;
	const ScaledValue *amount_scaled;	/* the converters' integer values */
	const ScaledValue *balance_scaled;
	int			nincome;		/* narrations of the income categories */
	char	  **income;
	int		   *income_len;
	flowtab_hash *tab;
	Size		key_bytes;		/* customer ids copied */
	char	   *prefix;			/* the bytes all ids share so far (for the */
	int			prefix_len;		/* hand-over's sort), -1 before the first */
	FlowEntry  *last;			/* the previous row's entry (entries move only
								 * when an insert grows the table) */
	Size		limit;			/* memory a hash aggregate may use (hash_mem) */
	bool		done;			/* the scan read its last row */
	bool		broken;			/* rescanned: rows would count twice */
	bool		overflowed;		/* past limit: given up, the fact is read instead */
};

/*
 * Armed by indicina.arm_month_flows() for the relation's next scan in this
 * transaction; left by that scan when it ends for scan_month_flows().  Both
 * in the transaction's state (core/txn_state.h).
 */
#define ARMED_FLOWS "month flows armed"
#define FINISHED_FLOWS "month flows finished"

/*
 * The customers of the customer-months scan_month_flows() last handed over
 * (each once: the rows come in customer order), for
 * scan_month_flow_customers(): the run's list of customers whose features
 * change, without a pass over the rows it inserted.
 */
typedef struct HandedCustomers
{
	Datum	   *ids;			/* text */
	int64		n;
	int64		cap;
} HandedCustomers;

#define HANDED_CUSTOMERS "month flow customers"

/* the attribute of relation named name when its type is one of two, else -1 */
static int
column_of(Oid relid, Datum name, Oid type1, Oid type2, int32 *typmod)
{
	AttrNumber	att = get_attnum(relid, NameStr(*DatumGetName(name)));
	Oid			type;
	Oid			collation;

	if (att == InvalidAttrNumber || att < 0)
		return -1;
	get_atttypetypmodcoll(relid, att, &type, typmod, &collation);
	if (type != type1 && type != type2)
		return -1;
	return att - 1;
}

/* a numeric(p,s) column with s at most FLOW_SCALE: its values are whole cents */
static bool
whole_cents(int32 typmod)
{
	int			scale = cents_typmod_scale(typmod);

	return scale >= 0 && scale <= FLOW_SCALE;
}

/*
 * indicina.arm_month_flows(relation, customer, date, amount, balance,
 * narration, income_narrations): prepares the accumulator for the
 * relation's next scan in this transaction.  False (nothing armed) when a
 * column is missing or of a type whose values the fact would change
 * (amounts must be numeric with at most two decimals, ids and narrations
 * text).
 */
PG_FUNCTION_INFO_V1(indicina_arm_month_flows);
Datum
indicina_arm_month_flows(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ArrayType  *income = PG_GETARG_ARRAYTYPE_P(6);
	int32		typmod;
	int			customer,
				date,
				amount,
				balance,
				narration;
	bool		ok;
	MemoryContext cxt;
	MemoryContext old;
	MonthFlows *mf;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			nelems;
	int			i;

	txn_state_drop(ARMED_FLOWS, NULL);
	customer = column_of(relid, PG_GETARG_DATUM(1), TEXTOID, VARCHAROID, &typmod);
	date = column_of(relid, PG_GETARG_DATUM(2), DATEOID, DATEOID, &typmod);
	amount = column_of(relid, PG_GETARG_DATUM(3), NUMERICOID, NUMERICOID, &typmod);
	ok = customer >= 0 && date >= 0 && amount >= 0 && whole_cents(typmod);
	balance = column_of(relid, PG_GETARG_DATUM(4), NUMERICOID, NUMERICOID, &typmod);
	ok = ok && balance >= 0 && whole_cents(typmod);
	narration = column_of(relid, PG_GETARG_DATUM(5), TEXTOID, VARCHAROID, &typmod);
	if (!ok || narration < 0)
		PG_RETURN_BOOL(false);

	cxt = txn_state_context("indicina month flows");
	old = MemoryContextSwitchTo(cxt);
	mf = palloc0(sizeof(MonthFlows));
	mf->relid = relid;
	mf->cxt = cxt;
	mf->customer = customer;
	mf->date = date;
	mf->amount = amount;
	mf->balance = balance;
	mf->narration = narration;
	deconstruct_array(income, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &nelems);
	mf->income = palloc(sizeof(char *) * Max(nelems, 1));
	mf->income_len = palloc(sizeof(int) * Max(nelems, 1));
	for (i = 0; i < nelems; i++)
	{
		text	   *t;

		if (elem_nulls[i])
			continue;
		t = DatumGetTextPP(elems[i]);
		mf->income_len[mf->nincome] = VARSIZE_ANY_EXHDR(t);
		mf->income[mf->nincome] = pnstrdup(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		mf->nincome++;
	}
	mf->tab = flowtab_create(cxt, 1024, NULL);
	mf->prefix_len = -1;
	mf->limit = get_hash_memory_limit();
	MemoryContextSwitchTo(old);
	txn_state_put(ARMED_FLOWS, NULL, mf, cxt);
	PG_RETURN_BOOL(true);
}

/* the accumulator armed for this relation in this transaction, or NULL */
MonthFlows *
month_flows_take(Oid relid)
{
	MonthFlows *mf = txn_state_get(ARMED_FLOWS, NULL);

	if (mf == NULL || mf->relid != relid)
		return NULL;
	return txn_state_take(ARMED_FLOWS, NULL);
}

void
month_flows_mark_needed(const MonthFlows *mf, bool *needed)
{
	if (mf == NULL)
		return;
	needed[mf->customer] = needed[mf->date] = needed[mf->amount] = needed[mf->balance] = true;
	needed[mf->narration] = true;
}

void
month_flows_use_scaled(MonthFlows *mf, int att, const ScaledValue *scaled)
{
	if (mf == NULL)
		return;
	if (att == mf->amount)
		mf->amount_scaled = scaled;
	if (att == mf->balance)
		mf->balance_scaled = scaled;
}

/* a value in cents: the converter's integer when it has one, else read from the numeric */
static inline int64
cents(Datum d, const ScaledValue *sv, const char *what)
{
	int64		v;

	if (cents_from_scaled(sv, FLOW_SCALE, &v))
		return v;
	return cents_of(d, what);
}

static bool
is_income(const MonthFlows *mf, Datum narration)
{
	text	   *t = DatumGetTextPP(narration);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			i;

	for (i = 0; i < mf->nincome; i++)
		if (mf->income_len[i] == len && memcmp(mf->income[i], VARDATA_ANY(t), len) == 0)
			return true;
	return false;
}

/* a new customer-month's id narrows the prefix every id shares */
static inline void
track_prefix(MonthFlows *mf, const FlowKey *k)
{
	const char *id = flow_id(k);
	int			p = 0;

	if (mf->prefix_len < 0)
	{
		mf->prefix = MemoryContextAlloc(mf->cxt, Max(k->len, 1));
		memcpy(mf->prefix, id, k->len);
		mf->prefix_len = k->len;
		return;
	}
	while (p < mf->prefix_len && p < k->len && id[p] == mf->prefix[p])
		p++;
	mf->prefix_len = p;
}

/*
 * One row the scan returns.  Rows come in the scan's order, files by their
 * bytes and lines ascending, so the latest of a date is the last one seen.
 * A row with no customer or date never reaches the fact (its columns are
 * NOT NULL there; the insert fails the run), so it is not counted.
 */
void
month_flows_add(MonthFlows *mf, Datum *values, bool *nulls)
{
	text	   *id;
	DateADT		d;
	FlowKey		key;
	FlowEntry  *e;
	bool		found;
	int64		amount = 0;
	int64		balance = 0;
	bool		salary_like;

	if (mf->overflowed || nulls[mf->customer] || nulls[mf->date])
		return;
	d = DatumGetDateADT(values[mf->date]);
	key.month = month_of(d);
	id = DatumGetTextPP(values[mf->customer]);
	key.len = VARSIZE_ANY_EXHDR(id);
	e = mf->last;

	/*
	 * A statement lists a customer's transactions together and in date
	 * order, so a row mostly falls in the previous row's customer-month:
	 * then neither hash nor probe
	 */
	if (e == NULL || e->key.month != key.month || e->key.len != key.len ||
		memcmp(flow_id(&e->key), VARDATA_ANY(id), key.len) != 0)
	{
		if (key.len <= FLOW_INLINE_ID)
			memcpy(key.id.bytes, VARDATA_ANY(id), key.len);
		else
			key.id.ptr = VARDATA_ANY(id);
		e = flowtab_insert(mf->tab, key, &found);
		mf->last = e;
	}
	else
		found = true;
	if (!found)
	{
		if (key.len > FLOW_INLINE_ID)
		{
			char	   *copy = MemoryContextAlloc(mf->cxt, key.len);

			memcpy(copy, key.id.ptr, key.len);
			e->key.id.ptr = copy;
			mf->key_bytes += key.len;
		}
		memset(&e->t, 0, sizeof(e->t));
		track_prefix(mf, &key);
		if (mf->tab->size * sizeof(FlowEntry) + mf->key_bytes > mf->limit)
		{
			/* more customer-months than a hash aggregate could hold: let the fact be read */
			mf->overflowed = true;
			flowtab_destroy(mf->tab);
			mf->tab = NULL;
			mf->last = NULL;
			return;
		}
	}
	if (!nulls[mf->amount])
		amount = cents(values[mf->amount], mf->amount_scaled, "amount");
	if (!nulls[mf->balance])
		balance = cents(values[mf->balance], mf->balance_scaled, "balance");
	/* the narration is looked at only for a credit of a month with no salary yet */
	salary_like = !nulls[mf->amount] && amount > 0 && !e->t.salary && !nulls[mf->narration] &&
		is_income(mf, values[mf->narration]);
	flow_totals_add(&e->t, nulls[mf->amount] ? NULL : &amount, salary_like, nulls[mf->balance] ? NULL : &balance);
	if (!e->t.has_last || d >= e->t.last_date)
		flow_totals_close(&e->t, d, nulls[mf->balance] ? NULL : &balance);
}

/* the scan read its last row: the customer-months are ready */
void
month_flows_done(MonthFlows *mf)
{
	mf->done = true;
	/*
	 * Its memory stays the scan's to use (a rescan still marks it broken):
	 * a rolled-back savepoint forgets it without freeing it, and the end of
	 * the transaction or scan_month_flows() frees it.
	 */
	txn_state_put(FINISHED_FLOWS, NULL, mf, NULL);
}

/* the scan starts over: what it added would be added again */
void
month_flows_rescan(MonthFlows *mf)
{
	mf->broken = true;
}

/*
 * Sorting a million customer-months by (customer id bytes, month) through
 * pointers into the hash table is cache miss after cache miss.  So each
 * is sorted as a small item: the eight bytes of its id after the prefix
 * all ids share (ids are often "CUST_000123"), zero-padded and compared as
 * one big-endian integer, its length and month; the id itself is read only
 * when eight bytes do not tell two ids apart.  A NUL never occurs in text,
 * so zero padding sorts a shorter id first, as memcmp-then-length does.
 */
typedef struct SortItem
{
	uint64		abbrev;
	int32		len;
	DateADT		month;
	FlowEntry  *e;
} SortItem;

static int	sort_prefix;		/* the bytes every id shares; for sort_cmp */

static int
sort_cmp(const void *a, const void *b)
{
	const SortItem *x = (const SortItem *) a;
	const SortItem *y = (const SortItem *) b;

	if (x->abbrev != y->abbrev)
		return x->abbrev < y->abbrev ? -1 : 1;
	if (x->len > sort_prefix + 8 && y->len > sort_prefix + 8)
	{
		int			skip = sort_prefix + 8;
		int			c = memcmp(flow_id(&x->e->key) + skip, flow_id(&y->e->key) + skip, Min(x->len, y->len) - skip);

		if (c != 0)
			return c;
	}
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->month < y->month ? -1 : x->month > y->month;
}

static uint64
abbreviate(const FlowKey *k, int prefix)
{
	const char *id = flow_id(k);
	uint64		v = 0;
	int			i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | (prefix + i < k->len ? (unsigned char) id[prefix + i] : 0);
	return v;
}

/* a finished scan's customer-months, complete */
static bool
month_flows_ready(MonthFlows *mf)
{
	return mf != NULL && mf->done && !mf->broken && !mf->overflowed;
}

/*
 * indicina.scan_month_flows_ready(): whether scan_month_flows() has the
 * customer-months of a scan this transaction armed (false also when they
 * outgrew hash_mem and the scan gave up on them).
 */
PG_FUNCTION_INFO_V1(indicina_scan_month_flows_ready);
Datum
indicina_scan_month_flows_ready(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(month_flows_ready(txn_state_get(FINISHED_FLOWS, NULL)));
}

static bool
month_listed(DateADT month, const Datum *months, const bool *nulls, int nmonths)
{
	int			i;

	for (i = 0; i < nmonths; i++)
		if (!nulls[i] && DatumGetDateADT(months[i]) == month)
			return true;
	return false;
}

static void
hand_customer(HandedCustomers *handed, const FlowKey *k)
{
	if (handed->n == handed->cap)
	{
		handed->cap = Max(handed->cap * 2, 1024);
		handed->ids = repalloc_huge(handed->ids, sizeof(Datum) * handed->cap);
	}
	handed->ids[handed->n++] = PointerGetDatum(cstring_to_text_with_len(flow_id(k), k->len));
}

/*
 * indicina.scan_month_flows(except_months): the customer-months of the
 * scan this transaction armed, with the columns of agg_customer_month, in
 * key order, but for those of the months listed.  Once: the accumulator is
 * freed, and the customers of the rows returned are kept for
 * scan_month_flow_customers().
 */
PG_FUNCTION_INFO_V1(indicina_scan_month_flows);
Datum
indicina_scan_month_flows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MonthFlows *mf = txn_state_get(FINISHED_FLOWS, NULL);
	MemoryContext handed_cxt;
	HandedCustomers *handed;
	flowtab_iterator it;
	FlowEntry  *e;
	SortItem   *sorted;
	int			prefix;
	uint64		n = 0;
	uint64		i;
	MemoryContext row_cxt;
	Datum	   *except;
	bool	   *except_nulls;
	int			nexcept;
	const FlowKey *last_customer = NULL;

	/* not strict: a NULL list leaves out nothing rather than handing nothing over */
	if (PG_ARGISNULL(0))
		nexcept = 0;
	else
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), DATEOID, sizeof(DateADT), true, TYPALIGN_INT,
						  &except, &except_nulls, &nexcept);
	if (!month_flows_ready(mf))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no scan of this transaction has customer-months to hand over"),
				 errhint("indicina.arm_month_flows() prepares the next scan of a relation; run_pipeline uses it.")));
	/* handed over once: the accumulator is the caller's now, freed below */
	(void) txn_state_take(FINISHED_FLOWS, NULL);
	InitMaterializedSRF(fcinfo, 0);
	handed_cxt = txn_state_context("indicina handed customers");
	handed = MemoryContextAllocZero(handed_cxt, sizeof(HandedCustomers));
	handed->ids = MemoryContextAllocHuge(handed_cxt, sizeof(Datum) * 1024);
	handed->cap = 1024;
	txn_state_put(HANDED_CUSTOMERS, NULL, handed, handed_cxt);

	/* one pass in table order: the prefix was kept as the entries came */
	sorted = MemoryContextAllocHuge(mf->cxt, sizeof(SortItem) * Max(mf->tab->members, 1));
	prefix = Max(mf->prefix_len, 0);
	flowtab_start_iterate(mf->tab, &it);
	while ((e = flowtab_iterate(mf->tab, &it)) != NULL)
	{
		sorted[n].e = e;
		sorted[n].abbrev = abbreviate(&e->key, prefix);
		sorted[n].len = e->key.len;
		sorted[n].month = e->key.month;
		n++;
	}
	sort_prefix = prefix;
	qsort(sorted, n, sizeof(SortItem), sort_cmp);
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "indicina month flow row", ALLOCSET_SMALL_SIZES);
	for (i = 0; i < n; i++)
	{
		Datum		values[9];
		bool		nulls[9];
		MemoryContext old = MemoryContextSwitchTo(row_cxt);

		/* in key order the entries are scattered: ask for those a few rows on */
		if (i + 8 < n)
		{
			__builtin_prefetch(sorted[i + 8].e);
			__builtin_prefetch((const char *) sorted[i + 8].e + 64);
		}
		e = sorted[i].e;
		if (nexcept > 0 && month_listed(e->key.month, except, except_nulls, nexcept))
		{
			MemoryContextSwitchTo(old);
			continue;
		}
		if (last_customer == NULL || last_customer->len != e->key.len ||
			memcmp(flow_id(last_customer), flow_id(&e->key), e->key.len) != 0)
		{
			MemoryContextSwitchTo(handed_cxt);
			hand_customer(handed, &e->key);
			MemoryContextSwitchTo(row_cxt);
			last_customer = &e->key;
		}
		values[0] = PointerGetDatum(cstring_to_text_with_len(flow_id(&e->key), e->key.len));
		values[1] = DateADTGetDatum(e->key.month);
		nulls[0] = nulls[1] = false;
		flow_totals_values(&e->t, values + 2, nulls + 2);
		MemoryContextSwitchTo(old);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(row_cxt);
	}
	MemoryContextDelete(row_cxt);
	MemoryContextDelete(mf->cxt);
	return (Datum) 0;
}

/*
 * indicina.scan_month_flow_customers(): the customers of the rows the last
 * scan_month_flows() of this transaction returned, each once, in order.
 * Once.
 */
PG_FUNCTION_INFO_V1(indicina_scan_month_flow_customers);
Datum
indicina_scan_month_flow_customers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HandedCustomers *handed = txn_state_get(HANDED_CUSTOMERS, NULL);
	int64		i;

	if (handed == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no customers of handed-over customer-months are waiting in this transaction"),
				 errhint("indicina.scan_month_flows() hands them over; this function returns them once.")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);	/* a scalar result: no row type to look up */
	for (i = 0; i < handed->n; i++)
	{
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &handed->ids[i], &isnull);
	}
	txn_state_drop(HANDED_CUSTOMERS, NULL);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * The accumulator as a scan consumer (fdw/scan_consumer.h)
 * ---------------------------------------------------------------------
 */

/* what run_pipeline armed for this relation's next scan; a dry run adds nothing */
static void *
month_flows_consumer_take(ScanHandle *scan, MemoryContext mcxt)
{
	if (scan_info(scan)->dry_run)
		return NULL;
	return month_flows_take(scan_info(scan)->relid);
}

static void
month_flows_columns(void *state, bool *needed)
{
	month_flows_mark_needed((MonthFlows *) state, needed);
}

static void
month_flows_scaled(void *state, int att, const ScaledValue *scaled)
{
	month_flows_use_scaled((MonthFlows *) state, att, scaled);
}

/* every row the scan returns: the consumers before this one kept it */
static bool
month_flows_row(void *state, ScanHandle *scan, Datum *values, bool *nulls)
{
	month_flows_add((MonthFlows *) state, values, nulls);
	return true;
}

static void
month_flows_consumer_rescan(void *state)
{
	month_flows_rescan((MonthFlows *) state);
}

static void
month_flows_end(void *state, ScanHandle *scan)
{
	month_flows_done((MonthFlows *) state);
}

const ScanConsumerKind month_flows_consumer = {
	.name = "customer-month flows",
	.take = month_flows_consumer_take,
	.columns_needed = month_flows_columns,
	.use_scaled = month_flows_scaled,
	.row = month_flows_row,
	.rescan = month_flows_consumer_rescan,
	.end = month_flows_end,
};
