/*-------------------------------------------------------------------------
 *
 * set_rules.c
 *		Set rules judged inside the indicina_csv scan that fills a batch.
 *
 * With SQL, each set rule is a GROUP BY or a join over the batch stage()
 * has just written.  The scan sees every row once, in a known order (files
 * by name in byte order, lines ascending), which is the order the rules'
 * "first occurrence" means.  So, when stage() arms them (the arming lives
 * in the transaction's state, core/txn_state.h):
 *
 *	- duplicate_rows, unique: a set of 128-bit fingerprints of what was
 *	  seen; a row whose fingerprint is there already fails.
 *	- references: the same set, filled once before the scan with the
 *	  values of the referenced column; a value not in it fails.
 *	- balance_continuity: each surviving row's customer, date, file, line,
 *	  amount and balance (about 40 bytes) is kept; at the end of the scan
 *	  they are sorted and each row is compared with the one before it.
 *
 * Rules run in stage()'s order (duplicate_rows, unique, references,
 * balance_continuity, then by name) and a row a reject rule fails is gone
 * before the next rule sees it, exactly as with the SQL.  A fingerprint
 * stands for the typed values' bytes, so only types whose equality is
 * byte equality qualify; stage() keeps the SQL for anything else, and for
 * a balance_continuity rule of severity reject (its rows are returned
 * before the rule can judge them).
 *
 * Two different keys share a fingerprint with probability about
 * n^2 / 2^129: for a billion rows, one in 10^21.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "common/hashfn.h"
#include "executor/nodeHash.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/array.h"
#include "utils/rel.h"

#include "core/cents.h"
#include "core/txn_state.h"
#include "fdw/fdw.h"

#include "fdw/scan_consumer.h"
#include "quality/scan_stats.h"
#include "quality/set_rules.h"

#define SET_RULE_QUERY \
	"SELECT q.name, q.kind, q.columns, q.severity, q.fail_threshold::float8, q.fail_threshold_percent," \
	" q.params ? 'against'," \
	" CASE WHEN q.kind = 'references' THEN coalesce(($2->>((q.params->>'relation')::regclass::oid::text))::regclass::text," \
	"                                            (q.params->>'relation')::regclass::text) END," \
	" coalesce(q.params->>'column', q.columns[1])," \
	" 'no matching ' || quote_ident(coalesce(q.params->>'column', q.columns[1])) || ' in ' || (q.params->>'relation')," \
	" coalesce(q.params->>'customer', 'customer_id'), coalesce(q.params->>'date', 'transaction_date')," \
	" coalesce(q.params->>'amount', 'transaction_amount'), coalesce(q.params->>'balance', 'balance')," \
	" coalesce((q.params->>'tolerance')::numeric, 0.005)," \
	" CASE WHEN q.kind = 'references' THEN (SELECT c.relkind FROM pg_catalog.pg_class c" \
	"   WHERE c.oid = coalesce(($2->>((q.params->>'relation')::regclass::oid::text))::regclass," \
	"                          (q.params->>'relation')::regclass)) END" \
	" FROM indicina.quality_rules q" \
	" WHERE q.relation = $1 AND q.enabled" \
	"   AND q.kind IN ('duplicate_rows', 'unique', 'references', 'balance_continuity')" \
	" ORDER BY array_position('{duplicate_rows,unique,references,balance_continuity}'::text[], q.kind), q.name"

typedef enum SetRuleKind
{
	SET_DUPLICATE_ROWS,
	SET_UNIQUE,
	SET_REFERENCES,
	SET_CONTINUITY
} SetRuleKind;

/*
 * What one rule may hold: work_mem x hash_mem_multiplier, as one hash
 * aggregate of a query may (get_hash_memory_limit()).  Every big
 * allocation of the rule is charged, the old and the new table both while
 * a table grows, so the rule never holds more.
 */
typedef struct MemBudget
{
	Size		used;
	Size		limit;
	const char *rule;
	Oid			relid;
} MemBudget;

/* an open-addressing set of 128-bit fingerprints; {0, 0} marks a free slot */
typedef struct Fingerprint
{
	uint64		hi,
				lo;
} Fingerprint;

typedef struct FpSet
{
	void	   *raw;			/* what was allocated (slots are aligned in it) */
	Fingerprint *slots;			/* slot i is slots[i * stride]; with stride 2, */
	int			stride;			/* slots[i * 2 + 1] is its row's fingerprint */
	int32	   *payload;		/* per slot, or NULL */
	uint64		mask;
	uint64		count;
	MemoryContext cxt;			/* where it grows: not the row's memory */
	MemBudget  *budget;			/* the rule's */
} FpSet;

/* one row as balance_continuity needs it */
typedef struct ContinuityRow
{
	int32		customer;		/* index into cont_customers */
	int32		date;
	int64		line;
	int64		amount;			/* in units of 10^-scale */
	int64		balance;
	int32		file;
	uint8		flags;
} ContinuityRow;

#define CR_AMOUNT_NULL	0x01
#define CR_BALANCE_NULL 0x02
#define CR_DATE_NULL	0x04
#define CR_WARNED		0x08

struct SetRule
{
	char	   *name;
	char	   *code;			/* RULE:<name> or WARN:<name> */
	const char *kind_name;
	SetRuleKind kind;
	RuleSeverity severity;
	char	   *column;			/* the first column, for the record */
	char	   *message;		/* why a row fails (all but balance_continuity) */
	int			nkeys;
	int		   *keys;			/* 0-based attributes fingerprinted */
	int16	   *typlen;			/* per key */
	bool	   *typbyval;
	FmgrInfo   *outfuncs;		/* per key, for the record's value */
	FpSet		seen;			/* seen so far; references: the referenced values */
	/*
	 * duplicate_rows followed by a unique rule on some of its columns: two
	 * rows can only be copies if their keys are equal, so the row is looked
	 * up by key in the unique rule's set, whose slots also hold the row
	 * fingerprint of the key's first row; seen then holds only the rows
	 * whose key came before.  One probe of a big table per row, not two.
	 */
	struct SetRule *guard;
	/* balance_continuity */
	int			customer,
				date,
				amount,
				balance;
	int			scale;
	int64		tolerance;		/* a gap fails past this many units of 10^-scale */
	const ScaledValue *amount_scaled,
			   *balance_scaled;
	FmgrInfo	customer_out;
	/* fail */
	double		fail_limit;
	bool		fail_percent;
	MemBudget	budget;			/* its sets' and rows' memory */
	/* this scan's results */
	int64		checked;
	int64		failed;
	int			nsamples;
	StringInfoData samples;
};

struct SetRuleSet
{
	Oid			relid;
	MemoryContext cxt;
	int			nrules;
	SetRule    *rules;
	StringInfoData buf;			/* a row's key bytes, reused */
	/* this row's single-column fingerprint (references and continuity share one) */
	int			memo_att;
	Fingerprint memo_fp;
	/* this row's fingerprints, from duplicate_rows for the unique rule after it */
	bool		have_key;
	Fingerprint key_fp,
				row_fp;
	/* room for a verdict's flags */
	const char **flag_code;
	const char **flag_column;
	char	  **flag_value;
	const char **flag_message;
	SetRule    *continuity;
	ContinuityRow *cont_rows;
	int64		cont_n,
				cont_cap;
	void	   *cont_raw;
	FpSet		cont_customer_ids;	/* charged to the continuity rule */
	char	  **cont_customers; /* text of each customer, NULL for a NULL */
	int32		cont_ncustomers,
				cont_customers_cap;
	bool		finished;
};

/*
 * Armed by indicina.arm_set_rules() in the transaction's state
 * (core/txn_state.h), taken by the next scan of the relation.
 */
#define ARMED_SET_RULES "set rules"

/* ---------------------------------------------------------------------
 * Fingerprint sets
 * ---------------------------------------------------------------------
 */

/*
 * Memory for a big table probed at random: aligned to 2 MB and, where the
 * kernel allows, backed by huge pages.  A probe of a 100 MB table misses
 * the cache whatever we do; with 4 kB pages it misses the TLB too, which
 * on a virtual machine costs several more memory reads.
 */
#define HUGE_PAGE (2 * 1024 * 1024)

static void *
alloc_big(MemoryContext cxt, Size size, void **raw)
{
	char	   *p;

	if (size < HUGE_PAGE)
	{
		*raw = MemoryContextAllocHuge(cxt, size);
		return *raw;
	}
	*raw = MemoryContextAllocHuge(cxt, size + HUGE_PAGE);
	p = (char *) TYPEALIGN(HUGE_PAGE, *raw);
#ifdef MADV_HUGEPAGE
	(void) madvise(p, TYPEALIGN_DOWN(HUGE_PAGE, size), MADV_HUGEPAGE);
#endif
	return p;
}

/* what alloc_big takes for size bytes */
static inline Size
big_bytes(Size size)
{
	return size < HUGE_PAGE ? size : size + HUGE_PAGE;
}

static inline bool
budget_fits(const MemBudget *b, Size bytes)
{
	return b->used + bytes <= b->limit;
}

/*
 * Charges bytes to a rule about to allocate them, or stops the scan with
 * an error that names the settings to raise: the rule's verdicts are given
 * as the rows stream past, so it can neither spill nor hand over to the
 * batch's SQL once the scan has begun.
 */
static void
budget_charge(MemBudget *b, Size bytes, uint64 entries)
{
	if (!budget_fits(b, bytes))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("set rule \"%s\" of \"%s\" needs more memory than work_mem x hash_mem_multiplier (%zu kB)",
						b->rule, get_rel_name(b->relid), b->limit / 1024),
				 errdetail("It holds %llu entries in %zu kB and would need %zu kB more.",
						   (unsigned long long) entries, b->used / 1024, (bytes + 1023) / 1024),
				 errhint("Raise work_mem or hash_mem_multiplier for the load, e.g. SET work_mem = '256MB' (run_pipeline sets its own: ALTER FUNCTION indicina.run_pipeline SET work_mem).")));
	b->used += bytes;
}

static inline void
budget_release(MemBudget *b, Size bytes)
{
	Assert(b->used >= bytes);
	b->used -= bytes;
}

/* what a set of slots slots takes */
static inline Size
fpset_bytes(uint64 slots, int stride, bool payload)
{
	return big_bytes(sizeof(Fingerprint) * slots * Max(stride, 1)) + (payload ? sizeof(int32) * slots : 0);
}

static void
fpset_init_in(FpSet *s, uint64 slots, bool payload, MemoryContext cxt, MemBudget *budget)
{
	Size		bytes = sizeof(Fingerprint) * slots * Max(s->stride, 1);

	s->stride = Max(s->stride, 1);
	s->cxt = cxt;
	s->budget = budget;
	budget_charge(budget, fpset_bytes(slots, s->stride, payload), s->count);
	s->slots = alloc_big(cxt, bytes, &s->raw);
	memset(s->slots, 0, bytes);
	s->payload = payload ? MemoryContextAllocHuge(cxt, sizeof(int32) * slots) : NULL;
	s->mask = slots - 1;
	s->count = 0;
}

static void
fpset_free(FpSet *s)
{
	budget_release(s->budget, fpset_bytes(s->mask + 1, s->stride, s->payload != NULL));
	pfree(s->raw);
	if (s->payload)
		pfree(s->payload);
	s->raw = NULL;
	s->payload = NULL;
}

/* the next fpset_add of a new fingerprint would double the table */
static inline bool
fpset_full(const FpSet *s)
{
	return (s->count + 1) * 4 > (s->mask + 1) * 3;
}

#define FP_AT(s, i) ((s)->slots[(i) * (s)->stride])
#define FP_EQ(a, b) ((a).hi == (b).hi && (a).lo == (b).lo)
#define FP_FREE(a) ((a).hi == 0 && (a).lo == 0)

/* where fp is, or the free slot where it would go */
static inline uint64
fpset_slot(const FpSet *s, Fingerprint fp)
{
	uint64		i = fp.lo & s->mask;

	while (!FP_EQ(FP_AT(s, i), fp) && !FP_FREE(FP_AT(s, i)))
		i = (i + 1) & s->mask;
	return i;
}

static void
fpset_grow(FpSet *s)
{
	FpSet		old = *s;
	uint64		i;

	fpset_init_in(s, (old.mask + 1) * 2, old.payload != NULL, old.cxt, old.budget);
	for (i = 0; i <= old.mask; i++)
	{
		uint64		j;

		if (FP_FREE(FP_AT(&old, i)))
			continue;
		j = fpset_slot(s, FP_AT(&old, i));
		memcpy(&FP_AT(s, j), &FP_AT(&old, i), sizeof(Fingerprint) * s->stride);
		if (s->payload)
			s->payload[j] = old.payload[i];
	}
	s->count = old.count;
	fpset_free(&old);
}

/*
 * An empty set made big enough for n fingerprints, so it never grows on
 * the way; no bigger than the rule's budget allows.
 */
static void
fpset_reserve(FpSet *s, uint64 n)
{
	uint64		slots = s->mask + 1;
	bool		payload = s->payload != NULL;
	Size		avail = s->budget->limit - s->budget->used + fpset_bytes(s->mask + 1, s->stride, payload);

	Assert(s->count == 0);
	while (n * 4 > slots * 3 && fpset_bytes(slots * 2, s->stride, payload) <= avail)
		slots *= 2;
	if (slots == s->mask + 1)
		return;
	fpset_free(s);
	fpset_init_in(s, slots, payload, s->cxt, s->budget);
}

/* adds fp; true when it was there already.  *slot: where it is */
static inline bool
fpset_add(FpSet *s, Fingerprint fp, uint64 *slot)
{
	uint64		i = fpset_slot(s, fp);

	if (FP_EQ(FP_AT(s, i), fp))
	{
		if (slot)
			*slot = i;
		return true;
	}
	if (unlikely(fpset_full(s)))
	{
		fpset_grow(s);
		i = fpset_slot(s, fp);
	}
	FP_AT(s, i) = fp;
	s->count++;
	if (slot)
		*slot = i;
	return false;
}

static inline bool
fpset_contains(const FpSet *s, Fingerprint fp)
{
	return FP_EQ(FP_AT(s, fpset_slot(s, fp)), fp);
}

/*
 * Types whose equality is equality of the stored bytes: the only ones a
 * fingerprint may stand for.  numeric needs a typmod (1.0 = 1.00 but
 * their bytes differ), and so does char(n) (its padding); text needs a
 * deterministic collation.
 */
static bool
fingerprintable(Oid typid, int32 typmod, Oid collation)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
			return !OidIsValid(collation) || get_collation_isdeterministic(collation);
		case BPCHAROID:
			/* char(n) values are stored padded to n: equal values, equal bytes */
			return typmod >= 0 && (!OidIsValid(collation) || get_collation_isdeterministic(collation));
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case BOOLOID:
		case UUIDOID:
			return true;
		case NUMERICOID:
			return typmod >= 0;
		default:
			return false;
	}
}

/*
 * bytes onto the fingerprint's buffer: once per value of every row, so no
 * call and no terminating NUL (the buffer is only hashed)
 */
static inline void
put_bytes(StringInfo buf, const void *p, int n)
{
	if (unlikely(buf->len + n >= buf->maxlen))
		enlargeStringInfo(buf, n);
	memcpy(buf->data + buf->len, p, n);
	buf->len += n;
}

/* a value's bytes, as the fingerprint sees them (text and varchar alike) */
static inline void
append_value(StringInfo buf, Datum v, bool isnull, int16 typlen, bool typbyval)
{
	char		present = isnull ? 0 : 1;

	put_bytes(buf, &present, 1);
	if (isnull)
		return;
	if (typbyval)
	{
		int64		x = typlen == 8 ? DatumGetInt64(v) : typlen == 4 ? DatumGetInt32(v) :
			typlen == 2 ? DatumGetInt16(v) : DatumGetUInt8(v);

		put_bytes(buf, &x, sizeof(x));
	}
	else if (typlen == -1)
	{
		struct varlena *p = PG_DETOAST_DATUM_PACKED(v);
		int32		len = VARSIZE_ANY_EXHDR(p);

		put_bytes(buf, &len, sizeof(len));
		put_bytes(buf, VARDATA_ANY(p), len);
	}
	else
		put_bytes(buf, DatumGetPointer(v), typlen);
}

static inline Fingerprint
fingerprint_of(const StringInfo buf)
{
	Fingerprint fp;

	fp.hi = hash_bytes_extended((const unsigned char *) buf->data, buf->len, UINT64CONST(0x9e3779b97f4a7c15));
	fp.lo = hash_bytes_extended((const unsigned char *) buf->data, buf->len, UINT64CONST(0x2545f4914f6cdd1d));
	if (fp.hi == 0 && fp.lo == 0)
		fp.lo = 1;
	return fp;
}

/* ---------------------------------------------------------------------
 * Arming: indicina.arm_set_rules(relation, sources)
 * ---------------------------------------------------------------------
 */

static int
attribute_of(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			return i;
	}
	return -1;
}

/* the keys of a rule, fingerprintable, with their output functions; false if not */
static bool
set_keys(SetRule *r, TupleDesc desc, int *atts, int n)
{
	int			i;

	r->nkeys = n;
	r->keys = palloc(sizeof(int) * Max(n, 1));
	r->typlen = palloc(sizeof(int16) * Max(n, 1));
	r->typbyval = palloc(sizeof(bool) * Max(n, 1));
	r->outfuncs = palloc(sizeof(FmgrInfo) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, atts[i]);
		Oid			out;
		bool		varlena;

		if (!fingerprintable(a->atttypid, a->atttypmod, a->attcollation))
			return false;
		r->keys[i] = atts[i];
		r->typlen[i] = a->attlen;
		r->typbyval[i] = a->attbyval;
		getTypeOutputInfo(a->atttypid, &out, &varlena);
		fmgr_info(out, &r->outfuncs[i]);
	}
	return true;
}

/* references: the referenced column's values into r->seen; false if the types differ */
static bool
load_references(SetRule *r, TupleDesc desc, const char *relation, const char *column, MemoryContext cxt)
{
	Form_pg_attribute a = TupleDescAttr(desc, r->keys[0]);
	char	   *sql = psprintf("SELECT %s FROM %s WHERE %s IS NOT NULL", quote_identifier(column), relation,
							   quote_identifier(column));
	Portal		portal;
	Oid			reftype;
	bool		text_like = a->atttypid == TEXTOID || a->atttypid == VARCHAROID;
	StringInfoData buf;

	initStringInfo(&buf);
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	SPI_cursor_fetch(portal, true, 10000);
	reftype = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	if (!(reftype == a->atttypid || (text_like && (reftype == TEXTOID || reftype == VARCHAROID))) ||
		((a->atttypid == NUMERICOID || a->atttypid == BPCHAROID) &&
		 TupleDescAttr(SPI_tuptable->tupdesc, 0)->atttypmod != a->atttypmod))
	{
		SPI_cursor_close(portal);
		return false;
	}
	/* SPI calls leave SPI's own memory current: the set lives in the rules' */
	fpset_init_in(&r->seen, 1024, false, cxt, &r->budget);
	while (SPI_processed > 0)
	{
		uint64		i;

		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		v = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

			/* values past the budget: the SQL judges the rule, over the batch */
			if (fpset_full(&r->seen) &&
				!budget_fits(&r->budget, fpset_bytes((r->seen.mask + 1) * 2, r->seen.stride, false)))
			{
				SPI_cursor_close(portal);
				return false;
			}

			resetStringInfo(&buf);
			append_value(&buf, v, isnull, a->attlen, a->attbyval);
			fpset_add(&r->seen, fingerprint_of(&buf), NULL);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, 10000);
	}
	SPI_cursor_close(portal);
	pfree(buf.data);
	return true;
}

/* balance_continuity's columns: any customer key, a date, two numerics of one scale up to 18 digits */
static bool
set_continuity(SetRule *r, TupleDesc desc, HeapTuple tup, TupleDesc qdesc)
{
	Form_pg_attribute amount,
				balance;
	int			precision;
	char	   *tol;
	Oid			out;
	bool		varlena;

	r->customer = attribute_of(desc, SPI_getvalue(tup, qdesc, 11));
	r->date = attribute_of(desc, SPI_getvalue(tup, qdesc, 12));
	r->amount = attribute_of(desc, SPI_getvalue(tup, qdesc, 13));
	r->balance = attribute_of(desc, SPI_getvalue(tup, qdesc, 14));
	if (r->customer < 0 || r->date < 0 || r->amount < 0 || r->balance < 0)
		return false;
	amount = TupleDescAttr(desc, r->amount);
	balance = TupleDescAttr(desc, r->balance);
	if (TupleDescAttr(desc, r->date)->atttypid != DATEOID ||
		amount->atttypid != NUMERICOID || balance->atttypid != NUMERICOID ||
		amount->atttypmod < 0 || amount->atttypmod != balance->atttypmod)
		return false;
	precision = cents_typmod_precision(amount->atttypmod);
	r->scale = cents_typmod_scale(amount->atttypmod);
	if (precision > 17 || r->scale < 0 || r->scale > precision)
		return false;			/* a sum of two must fit 64 bits */
	{
		int			k = r->customer;

		if (!set_keys(r, desc, &k, 1))
			return false;
	}
	getTypeOutputInfo(TupleDescAttr(desc, r->customer)->atttypid, &out, &varlena);
	fmgr_info(out, &r->customer_out);
	/*
	 * A gap g (in units) fails when |g| > tolerance * 10^scale, i.e. |g| >
	 * its floor.  A tolerance past int64 units is past every gap two
	 * numerics of 17 digits make.
	 */
	tol = SPI_getvalue(tup, qdesc, 15);
	switch (cents_from_numeric(DirectFunctionCall3(numeric_in, CStringGetDatum(tol), ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)),
							   r->scale, CENTS_FLOOR, &r->tolerance))
	{
		case CENTS_OK:
			return r->tolerance >= 0;
		case CENTS_OUT_OF_RANGE:
			/* add_rule refuses a negative tolerance; a huge one is no limit */
			r->tolerance = PG_INT64_MAX;
			return tol[0] != '-';
		default:
			return false;
	}
}

/* are all of a's keys among b's? */
static bool
keys_within(const SetRule *a, const SetRule *b)
{
	int			i,
				j;

	for (i = 0; i < a->nkeys; i++)
	{
		for (j = 0; j < b->nkeys; j++)
			if (a->keys[i] == b->keys[j])
				break;
		if (j == b->nkeys)
			return false;
	}
	return true;
}

/*
 * Reads the relation's enabled set rules of the four kinds and prepares
 * them for the relation's next scan in this transaction.  All or none:
 * if one of them cannot be judged in the scan, none is, and stage() runs
 * them all with SQL, so the rules always see the batch in the same order.
 * Returns the names of the rules armed.
 */
PG_FUNCTION_INFO_V1(indicina_arm_set_rules);
Datum
indicina_arm_set_rules(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Datum		sources = PG_GETARG_DATUM(1);
	MemoryContext cxt;
	MemoryContext old;
	SetRuleSet *set;
	Relation	rel;
	TupleDesc	desc;
	Oid			argtypes[2] = {OIDOID, JSONBOID};
	Datum		args[2];
	bool		ok = true;
	uint64		n,
				i;
	ArrayBuildState *names;
	Size		limit = get_hash_memory_limit();

	txn_state_drop(ARMED_SET_RULES, NULL);	/* whatever was armed before is not for this scan */
	cxt = txn_state_context("indicina set rules");
	old = MemoryContextSwitchTo(cxt);
	set = palloc0(sizeof(SetRuleSet));
	set->relid = relid;
	set->cxt = cxt;
	initStringInfo(&set->buf);
	MemoryContextSwitchTo(old);

	rule_relation_aclcheck(relid);
	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = sources;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(SET_RULE_QUERY, 2, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the set rules of relation %u", relid);
	n = SPI_processed;
	{
		SPITupleTable *rules = SPI_tuptable;
		TupleDesc	qdesc = rules->tupdesc;

		old = MemoryContextSwitchTo(cxt);
		set->rules = palloc0(sizeof(SetRule) * Max(n, 1));
		for (i = 0; i < n && ok; i++)
		{
			HeapTuple	tup = rules->vals[i];
			SetRule    *r = &set->rules[set->nrules++];
			char	   *kind = SPI_getvalue(tup, qdesc, 2);
			char	   *severity = SPI_getvalue(tup, qdesc, 4);
			bool		isnull;
			Datum		cols = SPI_getbinval(tup, qdesc, 3, &isnull);
			Datum	   *elems;
			int			nelems;
			int		   *atts;
			int			j;

			r->name = pstrdup(SPI_getvalue(tup, qdesc, 1));
			r->budget.limit = limit;
			r->budget.rule = r->name;
			r->budget.relid = relid;
			r->severity = strcmp(severity, "reject") == 0 ? SEVERITY_REJECT :
				strcmp(severity, "warn") == 0 ? SEVERITY_WARN : SEVERITY_FAIL;
			r->code = psprintf("%s:%s", r->severity == SEVERITY_REJECT ? "RULE" : "WARN", r->name);
			r->fail_limit = DatumGetFloat8(SPI_getbinval(tup, qdesc, 5, &isnull));
			r->fail_percent = DatumGetBool(SPI_getbinval(tup, qdesc, 6, &isnull));
			initStringInfo(&r->samples);
			deconstruct_array(DatumGetArrayTypeP(cols), TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
			r->column = nelems > 0 ? TextDatumGetCString(elems[0]) : NULL;
			atts = palloc(sizeof(int) * Max(nelems, desc->natts));
			for (j = 0; j < nelems; j++)
				if ((atts[j] = attribute_of(desc, TextDatumGetCString(elems[j]))) < 0)
					ok = false;
			if (!ok)
				break;
			if (strcmp(kind, "duplicate_rows") == 0)
			{
				int			k = 0;

				r->kind = SET_DUPLICATE_ROWS;
				r->kind_name = "duplicate_rows";
				r->message = "exact copy of an earlier row of this batch";
				/* every data column: not the lineage ones */
				for (j = 0; j < desc->natts; j++)
				{
					CsvColumnOptions copts;

					if (TupleDescAttr(desc, j)->attisdropped)
						continue;
					csv_get_column_options(relid, j + 1, &copts);
					if (copts.source == SOURCE_DATA)
						atts[k++] = j;
				}
				ok = set_keys(r, desc, atts, k);
				fpset_init_in(&r->seen, 1024, false, cxt, &r->budget);
			}
			else if (strcmp(kind, "unique") == 0)
			{
				r->kind = SET_UNIQUE;
				r->kind_name = "unique";
				r->message = "duplicate of an earlier row of this batch";
				/* against another table: the SQL's join */
				ok = !DatumGetBool(SPI_getbinval(tup, qdesc, 7, &isnull)) && nelems > 0 &&
					set_keys(r, desc, atts, nelems);
				fpset_init_in(&r->seen, 1024, false, cxt, &r->budget);
			}
			else if (strcmp(kind, "references") == 0)
			{
				char	   *ref = SPI_getvalue(tup, qdesc, 8);
				char	   *relkind = SPI_getvalue(tup, qdesc, 16);

				r->kind = SET_REFERENCES;
				r->kind_name = "references";
				r->message = pstrdup(SPI_getvalue(tup, qdesc, 10));
				ok = nelems == 1 && set_keys(r, desc, atts, 1);
				/* a foreign table is read by the SQL, after the scan (one scan at a time) */
				if (relkind == NULL || strcmp(relkind, "f") == 0)
					ok = false;
				if (ok)
					ok = load_references(r, desc, ref, SPI_getvalue(tup, qdesc, 9), cxt);
				MemoryContextSwitchTo(cxt);
			}
			else
			{
				r->kind = SET_CONTINUITY;
				r->kind_name = "balance_continuity";
				/* its failures are known only at the end, after the rows are returned */
				ok = r->severity != SEVERITY_REJECT && set->continuity == NULL &&
					set_continuity(r, desc, tup, qdesc);
				set->continuity = r;
			}
		}
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	relation_close(rel, AccessShareLock);

	names = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	if (ok && set->nrules > 1 && set->rules[0].kind == SET_DUPLICATE_ROWS &&
		set->rules[1].kind == SET_UNIQUE && keys_within(&set->rules[1], &set->rules[0]))
	{
		SetRule    *u = &set->rules[1];

		fpset_free(&u->seen);
		u->seen.stride = 2;
		fpset_init_in(&u->seen, 1024, false, cxt, &u->budget);
		set->rules[0].guard = u;
	}
	if (!ok || set->nrules == 0)
	{
		MemoryContextDelete(cxt);
		PG_RETURN_DATUM(makeArrayResult(names, CurrentMemoryContext));
	}
	if (set->continuity)
	{
		old = MemoryContextSwitchTo(cxt);
		fpset_init_in(&set->cont_customer_ids, 1024, true, cxt, &set->continuity->budget);
		set->cont_customers_cap = 1024;
		budget_charge(&set->continuity->budget, sizeof(char *) * set->cont_customers_cap, 0);
		set->cont_customers = palloc(sizeof(char *) * set->cont_customers_cap);
		MemoryContextSwitchTo(old);
	}
	old = MemoryContextSwitchTo(cxt);
	set->flag_code = palloc(sizeof(char *) * set->nrules);
	set->flag_column = palloc(sizeof(char *) * set->nrules);
	set->flag_value = palloc(sizeof(char *) * set->nrules);
	set->flag_message = palloc(sizeof(char *) * set->nrules);
	MemoryContextSwitchTo(old);
	for (i = 0; i < (uint64) set->nrules; i++)
		accumArrayResult(names, CStringGetTextDatum(set->rules[i].name), false, TEXTOID, CurrentMemoryContext);
	txn_state_put(ARMED_SET_RULES, NULL, set, set->cxt);
	PG_RETURN_DATUM(makeArrayResult(names, CurrentMemoryContext));
}

/*
 * The set rules armed for this relation in this transaction, now owned by
 * the scan (freed with its memory), or NULL.
 */
SetRuleSet *
set_rules_take(Oid relid, MemoryContext scan_cxt)
{
	SetRuleSet *set = txn_state_get(ARMED_SET_RULES, NULL);

	if (set == NULL || set->relid != relid)
		return NULL;
	(void) txn_state_take(ARMED_SET_RULES, NULL);
	MemoryContextSetParent(set->cxt, scan_cxt);
	return set;
}

void
set_rules_mark_needed(const SetRuleSet *set, bool *needed)
{
	int			i,
				j;

	if (set == NULL)
		return;
	for (i = 0; i < set->nrules; i++)
	{
		const SetRule *r = &set->rules[i];

		for (j = 0; j < r->nkeys; j++)
			needed[r->keys[j]] = true;
		if (r->kind == SET_CONTINUITY)
			needed[r->customer] = needed[r->date] = needed[r->amount] = needed[r->balance] = true;
	}
}

/* the converter's integer form of a numeric column, for balance_continuity */
void
set_rules_use_scaled(SetRuleSet *set, int att, const ScaledValue *scaled)
{
	if (set == NULL || set->continuity == NULL)
		return;
	if (set->continuity->amount == att)
		set->continuity->amount_scaled = scaled;
	if (set->continuity->balance == att)
		set->continuity->balance_scaled = scaled;
}

/* ---------------------------------------------------------------------
 * Per row
 * ---------------------------------------------------------------------
 */

static Fingerprint
row_fingerprint(SetRuleSet *set, const SetRule *r, Datum *values, bool *nulls)
{
	int			i;

	if (r->nkeys == 1 && r->keys[0] == set->memo_att)
		return set->memo_fp;
	resetStringInfo(&set->buf);
	for (i = 0; i < r->nkeys; i++)
		append_value(&set->buf, values[r->keys[i]], nulls[r->keys[i]], r->typlen[i], r->typbyval[i]);
	if (r->nkeys == 1)
	{
		set->memo_att = r->keys[0];
		set->memo_fp = fingerprint_of(&set->buf);
		return set->memo_fp;
	}
	return fingerprint_of(&set->buf);
}

static inline bool
key_has_null(const SetRule *r, bool *nulls)
{
	int			k;

	for (k = 0; k < r->nkeys; k++)
		if (nulls[r->keys[k]])
			return true;
	return false;
}

/* the keys as text, joined by ", " (the SQL's concat_ws) */
static char *
keys_text(const SetRule *r, Datum *values, bool *nulls)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < r->nkeys; i++)
	{
		if (nulls[r->keys[i]])
			continue;
		if (s.len > 0)
			appendStringInfoString(&s, ", ");
		appendStringInfoString(&s, OutputFunctionCall(&r->outfuncs[i], values[r->keys[i]]));
	}
	return s.data;
}

static void
add_sample(SetRule *r, const char *file, int64 line, const char *value, const char *message)
{
	rule_sample_append(&r->samples, &r->nsamples, file, line, value, message);
}

/* a numeric's value in units of 10^-scale; false if it has more digits than that */
static bool
numeric_units(Datum num, int scale, const ScaledValue *sv, int64 *out)
{
	return cents_from_scaled(sv, scale, out) ||
		cents_from_numeric(num, scale, CENTS_EXACT, out) == CENTS_OK;
}

static void
keep_continuity_row(SetRuleSet *set, SetRule *r, Datum *values, bool *nulls, int file, int64 line, bool warned)
{
	ContinuityRow *c;
	uint64		slot;

	if (set->cont_n == set->cont_cap)
	{
		void	   *raw;
		ContinuityRow *rows;

		/* past a million rows by half again: less to copy than doubling past a close estimate */
		int64		cap = set->cont_cap >= 1024 * 1024 ? set->cont_cap + set->cont_cap / 2 : Max(set->cont_cap * 2, 65536);

		budget_charge(&r->budget, big_bytes(sizeof(ContinuityRow) * cap), set->cont_n);
		rows = alloc_big(set->cxt, sizeof(ContinuityRow) * cap, &raw);
		if (set->cont_rows)
		{
			memcpy(rows, set->cont_rows, sizeof(ContinuityRow) * set->cont_n);
			pfree(set->cont_raw);
			budget_release(&r->budget, big_bytes(sizeof(ContinuityRow) * set->cont_cap));
		}
		set->cont_cap = cap;
		set->cont_rows = rows;
		set->cont_raw = raw;
	}
	c = &set->cont_rows[set->cont_n++];
	/* the customer's number: the first time it is seen, a new one */
	if (!fpset_add(&set->cont_customer_ids, row_fingerprint(set, r, values, nulls), &slot))
	{
		MemoryContext old = MemoryContextSwitchTo(set->cxt);

		if (set->cont_ncustomers == set->cont_customers_cap)
		{
			budget_charge(&r->budget, sizeof(char *) * set->cont_customers_cap * 2, set->cont_ncustomers);
			set->cont_customers = repalloc_huge(set->cont_customers, sizeof(char *) * set->cont_customers_cap * 2);
			budget_release(&r->budget, sizeof(char *) * set->cont_customers_cap);
			set->cont_customers_cap *= 2;
		}
		set->cont_customers[set->cont_ncustomers] = nulls[r->customer] ? NULL :
			OutputFunctionCall(&r->customer_out, values[r->customer]);
		if (set->cont_customers[set->cont_ncustomers])
			budget_charge(&r->budget, strlen(set->cont_customers[set->cont_ncustomers]) + 1, set->cont_ncustomers);
		set->cont_customer_ids.payload[slot] = set->cont_ncustomers++;
		MemoryContextSwitchTo(old);
	}
	c->customer = set->cont_customer_ids.payload[slot];
	c->flags = warned ? CR_WARNED : 0;
	c->date = nulls[r->date] ? 0 : DatumGetInt32(values[r->date]);
	if (nulls[r->date])
		c->flags |= CR_DATE_NULL;
	c->file = file;
	c->line = line;
	c->amount = c->balance = 0;
	if (nulls[r->amount] || !numeric_units(values[r->amount], r->scale, r->amount_scaled, &c->amount))
		c->flags |= CR_AMOUNT_NULL;
	if (nulls[r->balance] || !numeric_units(values[r->balance], r->scale, r->balance_scaled, &c->balance))
		c->flags |= CR_BALANCE_NULL;
}

/*
 * Runs the set rules on a row that passed the row rules, in their order.
 * A reject rule's failure ends it: the row is quarantined and the rules
 * after it never see it.  warned: the row rules flagged it already.
 */
void
set_rules_check(SetRuleSet *set, Datum *values, bool *nulls, int file, const char *file_name, int64 line,
				bool warned, SetVerdict *v)
{
	int			i;

	v->reject = NULL;
	v->nflags = 0;
	v->flag_code = set->flag_code;
	v->flag_column = set->flag_column;
	v->flag_value = set->flag_value;
	v->flag_message = set->flag_message;
	set->have_key = false;
	set->memo_att = -1;
	for (i = 0; i < set->nrules; i++)
	{
		SetRule    *r = &set->rules[i];
		bool		fails = false;
		char	   *value = NULL;

		r->checked++;
		switch (r->kind)
		{
			case SET_DUPLICATE_ROWS:
				if (r->guard && !key_has_null(r->guard, nulls))
				{
					FpSet	   *keys = &r->guard->seen;
					uint64		slot;

					/*
					 * The key's slot in a table of millions is a cache miss:
					 * ask for it, then hash the whole row while it comes.
					 */
					set->key_fp = row_fingerprint(set, r->guard, values, nulls);
					__builtin_prefetch(&FP_AT(keys, set->key_fp.lo & keys->mask));
					set->row_fp = row_fingerprint(set, r, values, nulls);
					set->have_key = true;
					slot = fpset_slot(keys, set->key_fp);
					if (FP_EQ(FP_AT(keys, slot), set->key_fp))
						fails = FP_EQ(keys->slots[slot * 2 + 1], set->row_fp) ||
							fpset_add(&r->seen, set->row_fp, NULL);
				}
				else
					fails = fpset_add(&r->seen, row_fingerprint(set, r, values, nulls), NULL);
				break;
			case SET_UNIQUE:
				if (key_has_null(r, nulls))
					break;		/* a NULL in the key: never a duplicate */
				if (r->seen.stride == 2)
				{
					uint64		slot;

					/* guarded: duplicate_rows fingerprinted the row and its key */
					Assert(set->have_key);
					fails = fpset_add(&r->seen, set->key_fp, &slot);
					if (!fails)
						r->seen.slots[slot * 2 + 1] = set->row_fp;
				}
				else
					fails = fpset_add(&r->seen, row_fingerprint(set, r, values, nulls), NULL);
				if (fails)
					value = keys_text(r, values, nulls);
				break;
			case SET_REFERENCES:
				if (nulls[r->keys[0]])
					break;
				fails = !fpset_contains(&r->seen, row_fingerprint(set, r, values, nulls));
				if (fails)
					value = keys_text(r, values, nulls);
				break;
			case SET_CONTINUITY:
				keep_continuity_row(set, r, values, nulls, file, line, warned || v->nflags > 0);
				break;
		}
		if (!fails)
			continue;
		r->failed++;
		add_sample(r, file_name, line, value, r->message);
		if (r->severity == SEVERITY_REJECT)
		{
			v->reject = r;
			v->reject_code = r->code;
			v->reject_column = r->column;
			v->reject_value = value;
			v->reject_message = r->message;
			return;
		}
		v->flag_code[v->nflags] = r->code;
		v->flag_column[v->nflags] = r->column;
		v->flag_value[v->nflags] = value;
		v->flag_message[v->nflags] = r->message;
		v->nflags++;
	}
}

/* ---------------------------------------------------------------------
 * At the end of the scan: balance_continuity
 * ---------------------------------------------------------------------
 */

static int
cmp_continuity(const void *pa, const void *pb)
{
	const ContinuityRow *a = pa;
	const ContinuityRow *b = pb;

	if (a->customer != b->customer)
		return a->customer < b->customer ? -1 : 1;
	/* dates ascending, a NULL date last */
	if ((a->flags & CR_DATE_NULL) != (b->flags & CR_DATE_NULL))
		return (a->flags & CR_DATE_NULL) ? 1 : -1;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return 0;
}

static int
cmp_failure(const void *pa, const void *pb)
{
	const ContinuityFailure *a = pa;
	const ContinuityFailure *b = pb;

	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static char *
units_text(int64 v, int scale)
{
	Datum		n = cents_to_numeric(v, scale);

	return DatumGetCString(DirectFunctionCall1(numeric_out, n));
}

/*
 * Puts the rows kept in (customer, date, file, line) order.  Customers are
 * numbered densely as first seen, so a counting pass groups the rows by
 * customer in linear time; each customer's few rows, already in scan
 * order (file, line), are then sorted by the full order only when they are
 * not in it, which costs a fraction of one qsort of all the rows.
 */
static void
order_continuity_rows(SetRuleSet *set)
{
	int64	   *start;
	ContinuityRow *sorted;
	void	   *raw;
	int64		i;
	int32		c;

	if (set->cont_n < 2)
		return;
	budget_charge(&set->continuity->budget, sizeof(int64) * ((Size) set->cont_ncustomers + 1) +
				  big_bytes(sizeof(ContinuityRow) * set->cont_n), set->cont_n);
	start = palloc_extended(sizeof(int64) * ((Size) set->cont_ncustomers + 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (i = 0; i < set->cont_n; i++)
		start[set->cont_rows[i].customer + 1]++;
	for (c = 0; c < set->cont_ncustomers; c++)
		start[c + 1] += start[c];
	sorted = alloc_big(set->cxt, sizeof(ContinuityRow) * set->cont_n, &raw);
	/* start[c] is where customer c's next row goes; afterwards, where c + 1 begins */
	for (i = 0; i < set->cont_n; i++)
		sorted[start[set->cont_rows[i].customer]++] = set->cont_rows[i];
	for (c = 0; c < set->cont_ncustomers; c++)
	{
		int64		from = c == 0 ? 0 : start[c - 1];
		int64		to = start[c];

		CHECK_FOR_INTERRUPTS();
		for (i = from + 1; i < to; i++)
			if (cmp_continuity(&sorted[i - 1], &sorted[i]) > 0)
				break;
		if (i < to)
			qsort(sorted + from, to - from, sizeof(ContinuityRow), cmp_continuity);
	}
	pfree(start);
	pfree(set->cont_raw);
	budget_release(&set->continuity->budget, sizeof(int64) * ((Size) set->cont_ncustomers + 1) +
				   big_bytes(sizeof(ContinuityRow) * set->cont_cap));
	set->cont_rows = sorted;
	set->cont_raw = raw;
	set->cont_cap = set->cont_n;
}

/*
 * Judges balance_continuity over the rows kept, once, when the scan has
 * read its last row.  Returns the failures, in file and line order, for
 * the scan to record (under *code and *column).
 */
int
set_rules_finish(SetRuleSet *set, const char **file_names, ContinuityFailure **failures, const char **code,
				 const char **column)
{
	SetRule    *r;
	ContinuityFailure *out = NULL;
	int			n = 0,
				cap = 0;
	int64		i;

	*failures = NULL;
	if (set == NULL || set->continuity == NULL || set->finished)
		return 0;
	set->finished = true;
	r = set->continuity;
	*code = r->code;
	*column = r->column;
	order_continuity_rows(set);
	for (i = 1; i < set->cont_n; i++)
	{
		const ContinuityRow *p = &set->cont_rows[i - 1];
		const ContinuityRow *c = &set->cont_rows[i];
		int64		gap;

		CHECK_FOR_INTERRUPTS();
		if (p->customer != c->customer || (p->flags & CR_BALANCE_NULL) ||
			(c->flags & (CR_AMOUNT_NULL | CR_BALANCE_NULL)))
			continue;
		gap = c->balance - (p->balance + c->amount);
		if (gap <= r->tolerance && -gap <= r->tolerance)
			continue;
		if (n == cap)
		{
			cap = Max(cap * 2, 64);
			out = out ? repalloc_huge(out, sizeof(ContinuityFailure) * cap) :
				palloc_extended(sizeof(ContinuityFailure) * cap, MCXT_ALLOC_HUGE);
		}
		out[n].file = c->file;
		out[n].line = c->line;
		out[n].warned = (c->flags & CR_WARNED) != 0;
		out[n].value = set->cont_customers[c->customer];
		out[n].message = psprintf("previous balance %s + amount %s <> balance %s (gap %s)",
								  units_text(p->balance, r->scale), units_text(c->amount, r->scale),
								  units_text(c->balance, r->scale), units_text(gap, r->scale));
		n++;
	}
	if (n > 1)
		qsort(out, n, sizeof(ContinuityFailure), cmp_failure);
	r->failed = n;
	for (i = 0; i < n && i < RULE_SAMPLES; i++)
		add_sample(r, file_names[out[i].file], out[i].line, out[i].value, out[i].message);
	*failures = out;
	return n;
}

/*
 * A fail rule past its threshold stops the scan, as a row rule's does:
 * counts as soon as they are passed, percentages at the end.
 */
void
set_rules_check_fail(SetRuleSet *set, const char *relname, Oid relid, int64 scan_id, bool at_end)
{
	int			i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nrules; i++)
	{
		SetRule    *r = &set->rules[i];

		if (r->severity != SEVERITY_FAIL ||
			!rule_over_threshold(r->failed, r->checked, r->fail_limit, r->fail_percent, at_end))
			continue;
		set_rules_save_stats(set, scan_id, relid);
		rule_threshold_error(r->name, r->failed, r->checked, relname, r->fail_limit, r->fail_percent,
							 r->samples.data);
	}
}

/*
 * The scan expects about rows rows: the sets every row goes into (unique,
 * duplicate_rows with no unique rule to lean on) and the continuity rows
 * are made that big at once.  Growing by doubling would zero and copy
 * nearly as much again (a fifth of the set rules' time on 5M rows).  Past
 * PRESIZE_MAX_ROWS, or past what the rule's budget allows, they grow as
 * they fill, as they do when the estimate falls short.
 */
#define PRESIZE_MAX_ROWS (16 * 1024 * 1024)

void
set_rules_expect_rows(SetRuleSet *set, double rows)
{
	uint64		n;
	int			i;

	if (set == NULL || rows < 65536)
		return;
	n = (uint64) Min(rows, (double) PRESIZE_MAX_ROWS);
	for (i = 0; i < set->nrules; i++)
	{
		SetRule    *r = &set->rules[i];

		if (r->kind == SET_UNIQUE || (r->kind == SET_DUPLICATE_ROWS && r->guard == NULL))
			fpset_reserve(&r->seen, n);
		if (r->kind == SET_CONTINUITY && set->cont_cap == 0)
		{
			/* half the rule's budget at most: its customers need room too */
			uint64		fit = (r->budget.limit - Min(r->budget.used, r->budget.limit)) / 2 / sizeof(ContinuityRow);
			uint64		rows_n = Min(n, fit);

			if (rows_n < 65536)
				continue;
			budget_charge(&r->budget, big_bytes(sizeof(ContinuityRow) * rows_n), 0);
			set->cont_cap = rows_n;
			set->cont_rows = alloc_big(set->cxt, sizeof(ContinuityRow) * rows_n, &set->cont_raw);
		}
	}
}

/* a rescan reads the rows again: nothing has been seen */
void
set_rules_reset(SetRuleSet *set)
{
	int			i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nrules; i++)
	{
		SetRule    *r = &set->rules[i];

		r->checked = r->failed = 0;
		r->nsamples = 0;
		resetStringInfo(&r->samples);
		if (r->kind == SET_DUPLICATE_ROWS || r->kind == SET_UNIQUE)
		{
			memset(r->seen.slots, 0, sizeof(Fingerprint) * r->seen.stride * (r->seen.mask + 1));
			r->seen.count = 0;
		}
	}
	set->cont_n = 0;
	set->finished = false;
}

void
set_rules_save_stats(const SetRuleSet *set, int64 scan_id, Oid relid)
{
	int			i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nrules; i++)
	{
		const SetRule *r = &set->rules[i];

		scan_stats_rule(scan_id, relid, r->name, r->kind_name,
						r->severity == SEVERITY_REJECT ? "reject" : r->severity == SEVERITY_WARN ? "warn" : "fail",
						"set", r->checked, r->failed, r->samples.data);
	}
}

/* ---------------------------------------------------------------------
 * Set rules as a scan consumer (fdw/scan_consumer.h)
 * ---------------------------------------------------------------------
 */

typedef struct SetRulesConsumer
{
	SetRuleSet *set;
	SetVerdict verdict;
} SetRulesConsumer;

/* the set rules stage() armed for this relation's next scan, or nothing */
static void *
set_rules_consumer_take(ScanHandle *scan, MemoryContext mcxt)
{
	SetRuleSet *set = set_rules_take(scan_info(scan)->relid, mcxt);
	SetRulesConsumer *c;

	if (set == NULL)
		return NULL;
	c = MemoryContextAllocZero(mcxt, sizeof(SetRulesConsumer));
	c->set = set;
	return c;
}

static void
set_rules_columns(void *state, bool *needed)
{
	set_rules_mark_needed(((SetRulesConsumer *) state)->set, needed);
}

static void
set_rules_scaled(void *state, int att, const ScaledValue *scaled)
{
	set_rules_use_scaled(((SetRulesConsumer *) state)->set, att, scaled);
}

/* the first pass sizes the key sets for the rows its files hold */
static void
set_rules_pass_start(void *state, ScanHandle *scan)
{
	if (scan_info(scan)->pass == 1)
		set_rules_expect_rows(((SetRulesConsumer *) state)->set, scan_expected_rows(scan));
}

static bool
set_rules_row(void *state, ScanHandle *scan, Datum *values, bool *nulls)
{
	SetRulesConsumer *c = state;
	SetVerdict *v = &c->verdict;
	int			file = scan_file_count(scan) - 1;
	int			i;

	set_rules_check(c->set, values, nulls, file, scan_file_name(scan, file), scan_line(scan),
					scan_row_flagged(scan), v);
	for (i = 0; i < v->nflags; i++)
		scan_flag_row(scan, v->flag_code[i], v->flag_column[i], v->flag_value[i], v->flag_message[i]);
	if (!scan_info(scan)->dry_run)
		set_rules_check_fail(c->set, scan_info(scan)->relname, scan_info(scan)->relid, scan_info(scan)->scan_id, false);
	if (v->reject)
	{
		scan_quarantine_row(scan, v->reject_code, v->reject_column, v->reject_value, v->reject_message);
		return false;
	}
	return true;
}

static void
set_rules_rescan(void *state)
{
	set_rules_reset(((SetRulesConsumer *) state)->set);
}

/* balance_continuity, which needs every row, is judged now */
static void
set_rules_end(void *state, ScanHandle *scan)
{
	SetRulesConsumer *c = state;
	int			nfiles = scan_file_count(scan);
	const char **names = palloc(sizeof(char *) * Max(nfiles, 1));
	ContinuityFailure *f;
	const char *code;
	const char *column;
	int			n;
	int			i;

	for (i = 0; i < nfiles; i++)
		names[i] = scan_file_name(scan, i);
	n = set_rules_finish(c->set, names, &f, &code, &column);
	for (i = 0; i < n; i++)
		scan_flag_at(scan, f[i].file, f[i].line, f[i].warned, code, column, f[i].value, f[i].message);
	if (!scan_info(scan)->dry_run)
		set_rules_check_fail(c->set, scan_info(scan)->relname, scan_info(scan)->relid, scan_info(scan)->scan_id, true);
}

static void
set_rules_stats(void *state, ScanHandle *scan)
{
	set_rules_save_stats(((SetRulesConsumer *) state)->set, scan_info(scan)->scan_id, scan_info(scan)->relid);
}

const ScanConsumerKind set_rules_consumer = {
	.name = "set rules",
	.take = set_rules_consumer_take,
	.columns_needed = set_rules_columns,
	.use_scaled = set_rules_scaled,
	.pass_start = set_rules_pass_start,
	.row = set_rules_row,
	.rescan = set_rules_rescan,
	.end = set_rules_end,
	.stats = set_rules_stats,
};
