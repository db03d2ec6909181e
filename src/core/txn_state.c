/*-------------------------------------------------------------------------
 *
 * txn_state.c
 *		Values one SQL call leaves for a later call of the same
 *		transaction, forgotten by the transaction's and subtransactions'
 *		callbacks (txn_state.h).
 *
 * indicina's functions hand work to each other across SQL calls: stage()
 * arms set rules and the scan of its INSERT takes them; run_pipeline arms
 * the accumulator, the scan fills it and scan_month_flows() reads it; a
 * lookup armed once is probed by five million key_lookup() calls.  Such a
 * value must die with what made it: the transaction, or the savepoint
 * rolled back over the call that armed it (its rows are gone too).  Here
 * every value records the subtransaction that put it; a subtransaction's
 * commit hands its values to its parent, its abort forgets them, deletes
 * their memory and brings back what they replaced, and the end of the
 * transaction forgets all.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "core/txn_state.h"

typedef struct TxnValue
{
	const char *kind;
	char	   *name;			/* NULL: the kind's one value */
	void	   *value;
	MemoryContext cxt;			/* the value's, deleted when it is forgotten */
	SubTransactionId subid;		/* the subtransaction that owns it */
	SubTransactionId hidden_by; /* replaced or dropped in that subtransaction, or visible */
} TxnValue;

/* in TopTransactionContext; NIL outside a transaction */
static List *values = NIL;
static uint64 generation = 0;

static bool
same_key(const TxnValue *v, const char *kind, const char *name)
{
	if (strcmp(v->kind, kind) != 0)
		return false;
	if (name == NULL || v->name == NULL)
		return name == v->name;
	return strcmp(v->name, name) == 0;
}

/* the value under the key that is not replaced, or NULL */
static TxnValue *
find(const char *kind, const char *name)
{
	ListCell   *lc;

	foreach(lc, values)
	{
		TxnValue   *v = lfirst(lc);

		if (v->hidden_by == InvalidSubTransactionId && same_key(v, kind, name))
			return v;
	}
	return NULL;
}

/* forgets v (deleting its context unless it was taken or the caller keeps it) */
static void
forget(TxnValue *v, bool delete_cxt)
{
	values = list_delete_ptr(values, v);
	if (delete_cxt && v->cxt)
		MemoryContextDelete(v->cxt);
	if (v->name)
		pfree(v->name);
	pfree(v);
	generation++;
}

/*
 * v is replaced or dropped: forgotten when it is the current
 * subtransaction's, else only hidden, to come back if this subtransaction
 * rolls back (as the rows of the call that replaced it do).
 */
static void
retire(TxnValue *v, MemoryContext keep)
{
	SubTransactionId cur = GetCurrentSubTransactionId();

	if (v->subid == cur)
		forget(v, v->cxt != keep);
	else
	{
		v->hidden_by = cur;
		generation++;
	}
}

MemoryContext
txn_state_context(const char *what)
{
	MemoryContext cxt = AllocSetContextCreate(TopTransactionContext, "indicina transaction state",
											  ALLOCSET_DEFAULT_SIZES);

	/* what is a string constant of the caller's: it outlives the context */
	MemoryContextSetIdentifier(cxt, what);
	return cxt;
}

void
txn_state_put(const char *kind, const char *name, void *value, MemoryContext cxt)
{
	TxnValue   *old = find(kind, name);
	TxnValue   *v;
	MemoryContext saved;

	if (old)
		retire(old, cxt);
	saved = MemoryContextSwitchTo(TopTransactionContext);
	v = palloc0(sizeof(TxnValue));
	v->kind = kind;
	v->name = name ? pstrdup(name) : NULL;
	v->value = value;
	v->cxt = cxt;
	v->subid = GetCurrentSubTransactionId();
	v->hidden_by = InvalidSubTransactionId;
	values = lappend(values, v);
	MemoryContextSwitchTo(saved);
	generation++;
}

void *
txn_state_get(const char *kind, const char *name)
{
	TxnValue   *v = find(kind, name);

	return v ? v->value : NULL;
}

/* the value is the caller's from now on, even if this subtransaction rolls back */
void *
txn_state_take(const char *kind, const char *name)
{
	TxnValue   *v = find(kind, name);
	void	   *value;

	if (v == NULL)
		return NULL;
	value = v->value;
	forget(v, false);
	return value;
}

void
txn_state_drop(const char *kind, const char *name)
{
	TxnValue   *v = find(kind, name);

	if (v)
		retire(v, NULL);
}

uint64
txn_state_generation(void)
{
	return generation;
}

/* the transaction's memory is going away with everything in it */
static void
txn_state_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			values = NIL;
			generation++;
			break;
		default:
			break;
	}
}

static void
txn_state_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
						   void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case SUBXACT_EVENT_COMMIT_SUB:
			/* the parent owns what this one put, and what it replaced stays replaced */
			foreach(lc, values)
			{
				TxnValue   *v = lfirst(lc);

				if (v->subid == mySubid)
					v->subid = parentSubid;
				if (v->hidden_by == mySubid)
					v->hidden_by = parentSubid;
			}
			foreach(lc, values)
			{
				TxnValue   *v = lfirst(lc);

				/* replaced in the subtransaction that owns it: nothing can bring it back */
				if (v->hidden_by == v->subid)
				{
					values = foreach_delete_current(values, lc);
					if (v->cxt)
						MemoryContextDelete(v->cxt);
				}
			}
			generation++;
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			foreach(lc, values)
			{
				TxnValue   *v = lfirst(lc);

				/* its own, and those its aborted children left it, go; what it replaced comes back */
				if (v->subid >= mySubid)
				{
					values = foreach_delete_current(values, lc);
					if (v->cxt)
						MemoryContextDelete(v->cxt);
				}
				else if (v->hidden_by >= mySubid)
					v->hidden_by = InvalidSubTransactionId;
			}
			generation++;
			break;
		default:
			break;
	}
}

void
txn_state_init(void)
{
	RegisterXactCallback(txn_state_xact_callback, NULL);
	RegisterSubXactCallback(txn_state_subxact_callback, NULL);
}
