/*-------------------------------------------------------------------------
 *
 * month_flows.h
 *		agg_customer_month accumulated inside the indicina_csv scan that
 *		loads the transactions (month_flows.c): run_pipeline arms it, the
 *		scan adds every row it returns, indicina.scan_month_flows() hands
 *		the customer-months over when the scan is done.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_MONTH_FLOWS_H
#define INDICINA_MONTH_FLOWS_H

#include "postgres.h"

#include "coerce.h"

typedef struct MonthFlows MonthFlows;

extern MonthFlows *month_flows_take(Oid relid);
extern void month_flows_mark_needed(const MonthFlows *mf, bool *needed);
extern void month_flows_use_scaled(MonthFlows *mf, int att, const ScaledValue *scaled);
extern void month_flows_add(MonthFlows *mf, Datum *values, bool *nulls);
extern void month_flows_done(MonthFlows *mf);
extern void month_flows_rescan(MonthFlows *mf);

/* in warehouse.c: a numeric in cents (false if not finite or finer), and back */
extern bool numeric_cents(Datum d, int64 *out);
extern Datum cents_numeric(int128 v);

#endif							/* INDICINA_MONTH_FLOWS_H */
