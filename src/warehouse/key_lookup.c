/*-------------------------------------------------------------------------
 *
 * key_lookup.c
 *		Surrogate keys of small dimensions looked up in a hash table kept
 *		for the transaction: indicina.arm_key_lookup(),
 *		indicina.key_lookup() and, for versions, indicina.key_lookup_at().
 *
 * run_pipeline gives each of millions of transactions its customer key
 * and its category key.  As LEFT JOINs that is two hash joins, and each
 * passes every row through one more executor node.  A dimension lookup
 * cache (what ETL tools call one) does the same in a function call per
 * row (docs/benchmarks.md has the figures): arm_key_lookup(name, query)
 * runs the query once, (text key, bigint value) rows, and key_lookup(name,
 * key) returns the value of a key or NULL, as the LEFT JOIN on a unique
 * key would.  The table is in the transaction's state (core/txn_state.h):
 * good for the rest of the transaction, gone with a savepoint rolled back
 * over the call that armed it.  The query runs with the caller's rights.
 *
 * A versioned lookup is the same for a type 2 dimension: its query returns
 * (key, value, valid_from, valid_to) with several versions of a key, and
 * key_lookup_at(name, key, date) returns the version valid at the date,
 * as the as-of join on the versions' ranges would.
 *
 * Keys are compared as bytes, which is what text equality is under any
 * deterministic collation (a join under a nondeterministic one would
 * match more; the warehouse's keys are "C" and the default).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

#include "core/txn_state.h"

typedef struct LookupKey
{
	const char *bytes;			/* the entry's own copy */
	int32		len;
} LookupKey;

/* one version of a key: its value from valid_from on, until valid_to (exclusive) */
typedef struct LookupVersion
{
	DateADT		valid_from;		/* DATEVAL_NOBEGIN when NULL */
	DateADT		valid_to;		/* DATEVAL_NOEND when NULL: still valid */
	int64		value;
} LookupVersion;

/*
 * A key's value, or for a versioned lookup its versions: the first kept in
 * the entry (most keys have one), the others in an array beside it
 */
typedef struct LookupEntry
{
	LookupKey	key;
	uint32		hash;
	char		status;
	int32		nmore;			/* versions in more */
	LookupVersion first;		/* unversioned: only first.value is used */
	LookupVersion *more;
} LookupEntry;

#define SH_PREFIX lookuptab
#define SH_ELEMENT_TYPE LookupEntry
#define SH_KEY_TYPE LookupKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).bytes, (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).bytes, (b).bytes, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) (a)->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* one armed lookup, in the transaction's state (core/txn_state.h) under its name */
typedef struct KeyLookup
{
	lookuptab_hash *tab;
	bool		versioned;		/* armed with (key, value, valid_from, valid_to) */
} KeyLookup;

#define KEY_LOOKUP "key lookup"

/* a call site's lookup (fn_extra), good while the transaction's state is unchanged */
typedef struct CachedLookup
{
	KeyLookup  *lookup;
	uint64		generation;
} CachedLookup;

/*
 * indicina.arm_key_lookup(name, query): runs query, whose rows are (key
 * text, value bigint), into the lookup name for the rest of the
 * transaction (replacing one of that name).  A NULL key is left out, as a
 * join would never match it; a key twice is an error, as it would make a
 * join return a row twice.  Rows of (key text, value bigint, valid_from
 * date, valid_to date) arm a versioned lookup, where a key may come once
 * per version; a NULL valid_from is the beginning of time, a NULL valid_to
 * the version still valid.  Returns the number of keys.
 */
PG_FUNCTION_INFO_V1(indicina_arm_key_lookup);
Datum
indicina_arm_key_lookup(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	KeyLookup  *l;
	lookuptab_hash *tab;
	SPIPlanPtr	plan;
	TupleDesc	desc;
	bool		versioned;
	MemoryContext cxt;
	MemoryContext old;
	uint64		i;

	SPI_connect();
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the query of key lookup \"%s\": %s", name, SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query of key lookup \"%s\" must be a SELECT", name)));
	if (SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run the query of key lookup \"%s\"", name);
	desc = SPI_tuptable->tupdesc;
	versioned = desc->natts == 4;
	if ((desc->natts != 2 && !versioned) ||
		SPI_gettypeid(desc, 1) != TEXTOID || SPI_gettypeid(desc, 2) != INT8OID ||
		(versioned && (SPI_gettypeid(desc, 3) != DATEOID || SPI_gettypeid(desc, 4) != DATEOID)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the query of key lookup \"%s\" must return (text, bigint) or (text, bigint, date, date)",
						name)));

	/* filled aside, installed only when complete: an error leaves what was armed */
	cxt = txn_state_context("indicina key lookup");
	old = MemoryContextSwitchTo(cxt);
	tab = lookuptab_create(cxt, Max(SPI_processed, 16), NULL);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		k = SPI_getbinval(tup, desc, 1, &isnull);
		text	   *t;
		LookupKey	key;
		LookupEntry *e;
		LookupVersion v;
		bool		found;

		if (isnull)
			continue;
		t = DatumGetTextPP(k);
		v.value = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("key lookup \"%s\": key \"%s\" has no value", name, text_to_cstring(t))));
		v.valid_from = DATEVAL_NOBEGIN;
		v.valid_to = DATEVAL_NOEND;
		if (versioned)
		{
			Datum		d = SPI_getbinval(tup, desc, 3, &isnull);

			if (!isnull)
				v.valid_from = DatumGetDateADT(d);
			d = SPI_getbinval(tup, desc, 4, &isnull);
			if (!isnull)
				v.valid_to = DatumGetDateADT(d);
		}
		key.bytes = VARDATA_ANY(t);
		key.len = VARSIZE_ANY_EXHDR(t);
		e = lookuptab_insert(tab, key, &found);
		if (!found)
		{
			e->key.bytes = pnstrdup(key.bytes, key.len);
			e->first = v;
			e->nmore = 0;
			e->more = NULL;
		}
		else if (!versioned)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("key lookup \"%s\": key \"%s\" occurs twice", name, text_to_cstring(t))));
		else
		{
			/* another version: few keys have more than two */
			e->more = e->more ? repalloc(e->more, sizeof(LookupVersion) * (e->nmore + 1))
				: palloc(sizeof(LookupVersion));
			e->more[e->nmore++] = v;
		}
	}
	l = palloc0(sizeof(KeyLookup));
	l->tab = tab;
	l->versioned = versioned;
	MemoryContextSwitchTo(old);
	txn_state_put(KEY_LOOKUP, name, l, cxt);
	SPI_finish();
	PG_RETURN_INT64((int64) tab->members);
}

/*
 * e's version valid at date at (DATEVAL_NOEND: the version still valid):
 * of the versions whose range holds it, the one with the greatest value,
 * which for surrogate keys is the latest made; when no range holds it, the
 * version that began last before it (the latest made of a day); NULL when
 * every version begins after it.
 */
static const LookupVersion *
valid_version(const LookupEntry *e, DateADT at)
{
	const LookupVersion *holding = NULL;
	const LookupVersion *began = NULL;
	int			i;

	for (i = -1; i < e->nmore; i++)
	{
		const LookupVersion *v = i < 0 ? &e->first : &e->more[i];

		if (v->valid_from > at)
			continue;
		if (at < v->valid_to || v->valid_to == DATEVAL_NOEND)
		{
			if (holding == NULL || v->value > holding->value)
				holding = v;
		}
		else if (began == NULL || v->valid_from > began->valid_from ||
				 (v->valid_from == began->valid_from && v->value > began->value))
			began = v;
	}
	return holding ? holding : began;
}

/*
 * The value of e's version valid at at.  A date before every version gets
 * the version valid when the first begins: history before a customer's
 * first application belongs to what that application reported (after a
 * correction, the corrected version).
 */
static int64
version_at(const LookupEntry *e, DateADT at)
{
	const LookupVersion *v = valid_version(e, at);
	DateADT		first;
	int			i;

	if (v)
		return v->value;
	first = e->first.valid_from;
	for (i = 0; i < e->nmore; i++)
		first = Min(first, e->more[i].valid_from);
	return valid_version(e, first)->value;
}

/*
 * The lookup a call of key_lookup or key_lookup_at names.  With a constant
 * name it is found once per call site (fn_extra), then each call is one
 * probe; a name that varies is looked up on every call.
 */
static KeyLookup *
call_lookup(FunctionCallInfo fcinfo)
{
	CachedLookup *cached = (CachedLookup *) fcinfo->flinfo->fn_extra;
	KeyLookup  *l;

	/*
	 * Cached only for a constant name (decided once, when it is cached),
	 * and good while nothing is armed or forgotten
	 */
	char	   *name;

	if (cached && cached->generation == txn_state_generation())
		return cached->lookup;
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	l = txn_state_get(KEY_LOOKUP, name);
	if (l == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no key lookup \"%s\" is armed in this transaction", name),
				 errhint("Call indicina.arm_key_lookup(name, query) first, in the same transaction.")));
	if (get_fn_expr_arg_stable(fcinfo->flinfo, 0))
	{
		if (cached == NULL)
			cached = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(CachedLookup));
		cached->lookup = l;
		cached->generation = txn_state_generation();
		fcinfo->flinfo->fn_extra = cached;
	}
	pfree(name);
	return l;
}

static LookupEntry *
probe(KeyLookup *l, text *t)
{
	LookupKey	key;

	key.bytes = VARDATA_ANY(t);
	key.len = VARSIZE_ANY_EXHDR(t);
	return lookuptab_lookup(l->tab, key);
}

/*
 * indicina.key_lookup(name, key): the value of key in the lookup armed
 * under name in this transaction, or NULL; in a versioned lookup, the
 * value of the version still valid.
 */
PG_FUNCTION_INFO_V1(indicina_key_lookup);
Datum
indicina_key_lookup(PG_FUNCTION_ARGS)
{
	KeyLookup  *l = call_lookup(fcinfo);
	LookupEntry *e = probe(l, PG_GETARG_TEXT_PP(1));

	if (e == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT64(l->versioned ? version_at(e, DATEVAL_NOEND) : e->first.value);
}

/*
 * indicina.key_lookup_at(name, key, at): the value of key's version valid
 * at date at (see version_at), or NULL; a NULL at is the version still
 * valid.  Not strict, for that: a NULL name or key gives NULL.  In a lookup
 * armed without versions, the same as key_lookup.
 */
PG_FUNCTION_INFO_V1(indicina_key_lookup_at);
Datum
indicina_key_lookup_at(PG_FUNCTION_ARGS)
{
	KeyLookup  *l;
	LookupEntry *e;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	l = call_lookup(fcinfo);
	e = probe(l, PG_GETARG_TEXT_PP(1));
	if (e == NULL)
		PG_RETURN_NULL();
	if (!l->versioned)
		PG_RETURN_INT64(e->first.value);
	PG_RETURN_INT64(version_at(e, PG_ARGISNULL(2) ? DATEVAL_NOEND : PG_GETARG_DATEADT(2)));
}
