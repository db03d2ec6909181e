/*-------------------------------------------------------------------------
 *
 * scan_stats.h
 *		What the indicina_csv scans of this session counted, per file and
 *		per rule (scan_stats.c), read back by indicina.scan_file_stats()
 *		and indicina.scan_rule_stats().
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_SCAN_STATS_H
#define INDICINA_SCAN_STATS_H

#include "postgres.h"

#include "fdw/scan_consumer.h"
#include "quality/rules.h"

extern void scan_stats_file(int64 scan_id, Oid relid, const char *file, int64 rows_read,
							int64 rows_rejected, int64 rows_quarantined, int64 rows_warned);
extern void scan_stats_rules(int64 scan_id, Oid relid, const RowRuleSet *set);
extern void scan_stats_rule(int64 scan_id, Oid relid, const char *rule, const char *kind, const char *severity,
							const char *phase, int64 checked, int64 failed, const char *samples);
/* what rides on an indicina_csv scan (fdw/scan_consumer.h) */
extern const ScanConsumerKind file_stats_consumer;

#endif							/* INDICINA_SCAN_STATS_H */
