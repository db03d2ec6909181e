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

#include "coerce/coerce.h"
#include "core/cents.h"
#include "fdw/scan_consumer.h"

typedef struct MonthFlows MonthFlows;

extern MonthFlows *month_flows_take(Oid relid);
extern void month_flows_mark_needed(const MonthFlows *mf, bool *needed);
extern void month_flows_use_scaled(MonthFlows *mf, int att, const ScaledValue *scaled);
extern void month_flows_add(MonthFlows *mf, Datum *values, bool *nulls);
extern void month_flows_done(MonthFlows *mf);
extern void month_flows_rescan(MonthFlows *mf);
/* what rides on an indicina_csv scan (fdw/scan_consumer.h) */
extern const ScanConsumerKind month_flows_consumer;

#endif							/* INDICINA_MONTH_FLOWS_H */
