/*-------------------------------------------------------------------------
 *
 * txn_state.h
 *		What one SQL call leaves for a later one of the same transaction
 *		(txn_state.c): the set rules stage() arms for the next scan, the
 *		customer-month accumulator and what its scan hands over, the key
 *		lookups.  The one place such state lives; see docs/architecture.md,
 *		"State that lives for a transaction".
 *
 * A value is put under a kind and a name, with the memory context it
 * lives in (made by txn_state_context).  It is forgotten, and its context
 * deleted, when the transaction ends or the subtransaction that put it
 * aborts (ROLLBACK TO SAVEPOINT, an exception block); a value put or
 * dropped over it hides it, and the abort of the subtransaction that did
 * so brings it back, as the rollback of a savepoint restores rows.  A
 * value taken is the taker's, context and all, for good.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_TXN_STATE_H
#define INDICINA_TXN_STATE_H

#include "postgres.h"

extern void txn_state_init(void);

/* a context for a value about to be put; under the transaction's memory */
extern MemoryContext txn_state_context(const char *what);

/* name may be NULL: one value of the kind */
extern void txn_state_put(const char *kind, const char *name, void *value, MemoryContext cxt);
extern void *txn_state_get(const char *kind, const char *name);
extern void *txn_state_take(const char *kind, const char *name);
extern void txn_state_drop(const char *kind, const char *name);

/* changes whenever a value is put, taken or forgotten: for caches of txn_state_get */
extern uint64 txn_state_generation(void);

#endif							/* INDICINA_TXN_STATE_H */
