/*-------------------------------------------------------------------------
 *
 * rules.h
 *		Row rules of indicina.quality_rules, compiled once per scan and
 *		checked on every converted row of an indicina_csv scan (rules.c),
 *		and the per-scan statistics a caller reads back afterwards
 *		(scan_stats.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_RULES_H
#define INDICINA_RULES_H

#include "postgres.h"

#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/relcache.h"

#include "coerce/labels.h"
#include "fdw/scan_consumer.h"

#define RULE_SAMPLES 5			/* failing rows kept per rule and scan */

typedef enum RuleSeverity
{
	SEVERITY_REJECT,			/* the row is quarantined, not loaded */
	SEVERITY_WARN,				/* the row is loaded and flagged */
	SEVERITY_FAIL				/* too many failures stop the run */
} RuleSeverity;

typedef enum RowRuleKind
{
	RULE_NOT_NULL,
	RULE_ACCEPTED_VALUES,
	RULE_RANGE,
	RULE_REGEX,
	RULE_LENGTH,
	RULE_NOT_FUTURE,
	RULE_EXPRESSION
} RowRuleKind;

typedef struct RowRule
{
	char	   *name;
	char	   *code;			/* RULE:<name> or WARN:<name> in the reject log */
	const char *kind_name;
	RowRuleKind kind;
	RuleSeverity severity;
	int			att;			/* 0-based attribute; -1 for expression */
	char	   *column;
	Oid			typid;
	FmgrInfo	outfunc;

	bool		is_text;		/* text, varchar or char: bytes without a call */
	/* accepted_values */
	char	  **values;			/* sorted */
	int			nvalues;
	LabelMap   *labels;
	struct VerdictCache *verdicts;	/* the answer for values seen before */
	/* range (min/max in the column's type) and not_future (max only) */
	bool		has_min,
				has_max,
				min_inclusive,
				max_inclusive;
	Datum		min,
				max;
	char	   *min_text,
			   *max_text;
	/*
	 * The bounds as inclusive integers, when the type allows: dates and
	 * integers as they are, a numeric(p,s) column's bounds in units of
	 * 10^-s, against its converter's integer form of the value (scaled).
	 */
	bool		int_bounds;
	int			int_width;		/* 2, 4 or 8 bytes by value; 0: numeric, scaled */
	int			bound_scale;
	int64		lo,
				hi;
	const ScaledValue *scaled;
	FmgrInfo	cmp;
	Oid			collation;
	/* regex: compiled once per scan (freed with the scan's memory) */
	Datum		pattern;		/* text */
	void	   *regex;			/* regex_t *, from regex/regex.h */
	struct SimpleRegex *simple; /* the fast matcher, when the pattern allows */
	pg_wchar   *wbuf;
	int			wbuf_len;
	/* length */
	int			min_len,
				max_len;		/* -1: no bound */
	/* expression */
	char	   *sql;
	ExprState  *expr;
	/* fail: threshold, as a count or a percentage of rows checked */
	double		fail_limit;
	bool		fail_percent;

	/* this scan's results (rows checked: the set's count) */
	int64		failed;
	int			nsamples;
	StringInfoData samples;		/* a JSON array of {file, line, value} */
} RowRule;

/*
 * The hot path's view of a rule: what the per-row check needs, packed so
 * ten rules fit a few cache lines (RowRule is large and cold).
 */
typedef enum RuleOpKind
{
	OP_NOT_NULL,
	OP_INT_RANGE,				/* by-value integer or date against [lo, hi] */
	OP_SCALED_RANGE,			/* numeric(p,s) via its converter's integer */
	OP_ACCEPTED,
	OP_REGEX,
	OP_LENGTH,
	OP_SLOW,					/* everything else: check_one decides */
	OP_KINDS
} RuleOpKind;

typedef struct RuleOp
{
	uint8		op;				/* RuleOpKind */
	uint8		int_width;
	int16		att;
	int			bound_scale;
	int64		lo,
				hi;
	const ScaledValue *scaled;
	RowRule    *rule;
} RuleOp;

typedef struct RowRuleSet
{
	int			nrules;
	RowRule    *rules;
	RuleOp	   *ops;			/* built on the first row, once converters are known */
	int			op_end[OP_KINDS];	/* ops sorted by kind: kind k ends before op_end[k] */
	bool		has_expression;
	int64		checked;		/* rows checked; every rule sees every row */
	TupleTableSlot *slot;		/* the row, for expression rules */
	ExprContext *econtext;
	/* room for a verdict's flags, allocated once per scan */
	RowRule   **flag_rules;
	char	  **flag_messages;
	char	  **flag_values;
} RowRuleSet;

/* what row_rules_check found for one row */
typedef struct RuleVerdict
{
	RowRule    *reject;			/* the first reject rule the row failed, or NULL */
	char	   *message;		/* ... and why */
	char	   *value;
	int			nflags;			/* warn and fail rules it failed */
	RowRule   **flags;
	char	  **flag_messages;
	char	  **flag_values;
} RuleVerdict;

/* in rules.c */
extern RowRuleSet *row_rules_load(Relation rel, MemoryContext mcxt);
extern void row_rules_mark_needed(const RowRuleSet *set, bool *needed);
extern void row_rules_use_scaled(RowRuleSet *set, int att, const ScaledValue *scaled);
extern void row_rules_check(RowRuleSet *set, Datum *values, bool *nulls, const char *file, int64 line,
							RuleVerdict *verdict);
extern void row_rules_check_fail(RowRuleSet *set, const char *relname, Oid relid, int64 scan_id, bool at_end);
extern void row_rules_reset(RowRuleSet *set);
extern char *row_rule_judge(RowRuleSet *set, int i, Datum *values, bool *nulls, char **value);
extern void row_rules_store_row(RowRuleSet *set, Datum *values, bool *nulls);
extern Node *rule_expression_compile(Relation rel, const char *sql);
extern void rule_relation_aclcheck(Oid relid);
extern uint64 rules_catalog_query(const char *query, int nargs, Oid *argtypes, Datum *args, long limit);
extern void rule_sample_append(StringInfo s, int *nsamples, const char *file, int64 line, const char *value,
							   const char *detail);
extern bool rule_over_threshold(int64 failed, int64 checked, double limit, bool percent, bool at_end);
extern void rule_threshold_error(const char *name, int64 failed, int64 checked, const char *relname,
								 double limit, bool percent, const char *samples) pg_attribute_noreturn();

/* what rides on an indicina_csv scan (fdw/scan_consumer.h) */
extern const ScanConsumerKind row_rules_consumer;

#endif							/* INDICINA_RULES_H */
