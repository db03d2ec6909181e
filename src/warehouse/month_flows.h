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

#include "utils/date.h"

#include "core/cents.h"

typedef struct MonthFlows MonthFlows;

extern MonthFlows *month_flows_take(Oid relid);
extern void month_flows_mark_needed(const MonthFlows *mf, bool *needed);
extern void month_flows_use_scaled(MonthFlows *mf, int att, const ScaledValue *scaled);
extern void month_flows_add(MonthFlows *mf, Datum *values, bool *nulls);
extern void month_flows_done(MonthFlows *mf);
extern void month_flows_rescan(MonthFlows *mf);

/*
 * In warehouse.c: one customer-month's totals, as indicina.month_flow and
 * the scan both keep them.  The amounts are numeric(14,2) in the
 * warehouse, so they are summed in cents; the caller decides which
 * transaction closes the month (flow_totals_close), by its own order.
 */
#define FLOW_SCALE 2

typedef struct FlowTotals
{
	int64		inflow;			/* cents; past int64 no numeric(16,2) holds the sum */
	int64		outflow;
	int64		count;
	int64		min_balance;
	int64		last_balance;	/* of the transaction that closes the month */
	DateADT		last_date;
	bool		has_min;
	bool		has_last;
	bool		last_balance_null;
	bool		salary;
} FlowTotals;

extern DateADT month_of(DateADT d);
extern int64 cents_of(Datum d, const char *what);
extern void flow_totals_add(FlowTotals *t, const int64 *amount, bool salary_like, const int64 *balance);
extern void flow_totals_close(FlowTotals *t, DateADT date, const int64 *balance);
extern void flow_totals_values(const FlowTotals *t, Datum *values, bool *nulls);

#endif							/* INDICINA_MONTH_FLOWS_H */
