/*-------------------------------------------------------------------------
 *
 * set_rules.h
 *		Set rules judged inside an indicina_csv scan (set_rules.c): unique,
 *		duplicate_rows and references row by row as the rows stream past,
 *		balance_continuity at the end of the scan.  indicina.stage() arms
 *		them for the one scan that fills its batch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_SET_RULES_H
#define INDICINA_SET_RULES_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "coerce/coerce.h"
#include "fdw/scan_consumer.h"
#include "quality/rules.h"

typedef struct SetRule SetRule;
typedef struct SetRuleSet SetRuleSet;

/* what set_rules_check found for one row */
typedef struct SetVerdict
{
	SetRule    *reject;			/* the reject rule that quarantines the row, or NULL */
	const char *reject_code;
	const char *reject_column;
	char	   *reject_value;
	const char *reject_message;
	int			nflags;			/* warn and fail rules it failed, in rule order */
	const char **flag_code;		/* room for every rule, the set's */
	const char **flag_column;
	char	  **flag_value;
	const char **flag_message;
} SetVerdict;

/* a balance_continuity failure, found at the end of the scan */
typedef struct ContinuityFailure
{
	int			file;			/* index in the scan's file order */
	int64		line;
	bool		warned;			/* the row was flagged already */
	char	   *value;
	char	   *message;
} ContinuityFailure;

extern SetRuleSet *set_rules_take(Oid relid, MemoryContext scan_cxt);
extern void set_rules_mark_needed(const SetRuleSet *set, bool *needed);
extern void set_rules_use_scaled(SetRuleSet *set, int att, const ScaledValue *scaled);
extern void set_rules_check(SetRuleSet *set, Datum *values, bool *nulls, int file, const char *file_name,
							int64 line, bool warned, SetVerdict *verdict);
extern int	set_rules_finish(SetRuleSet *set, const char **file_names, ContinuityFailure **failures,
							 const char **code, const char **column);
extern void set_rules_check_fail(SetRuleSet *set, const char *relname, Oid relid, int64 scan_id, bool at_end);
extern void set_rules_expect_rows(SetRuleSet *set, double rows);
extern void set_rules_reset(SetRuleSet *set);
extern void set_rules_save_stats(const SetRuleSet *set, int64 scan_id, Oid relid);
/* what rides on an indicina_csv scan (fdw/scan_consumer.h) */
extern const ScanConsumerKind set_rules_consumer;

#endif							/* INDICINA_SET_RULES_H */
