/*-------------------------------------------------------------------------
 *
 * scan_consumer.h
 *		What rides on an indicina_csv scan: the interface between the scan
 *		and the modules that judge or accumulate its rows (row rules, set
 *		rules, file statistics, the customer-month accumulator).
 *
 * A consumer kind registers itself once, from its module's init.  When a
 * scan begins it asks every kind whether it has something for this scan
 * (take); each kind that does is called back through the scan's life:
 *
 *	take -> columns_needed -> use_scaled ... -> { pass_start -> row ... -> end
 *	     [-> rescan -> pass_start -> row ... -> end] } -> stats
 *
 * The scan knows nothing of what a consumer does.  A consumer reads the
 * scan through the ScanHandle functions below and reports what it finds
 * through them (a row flagged, a row quarantined, a finding at a file and
 * line), so counting, the reject log and its deduplication across passes
 * stay in the scan.  See docs/architecture.md, "Adding a scan consumer".
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_SCAN_CONSUMER_H
#define INDICINA_SCAN_CONSUMER_H

#include "postgres.h"

#include "utils/relcache.h"

#include "coerce/coerce.h"

/* the scan, as a consumer sees it */
typedef struct ScanHandle ScanHandle;

/* what a consumer may read of the scan (scan_info) */
typedef struct ScanInfo
{
	Relation	rel;
	Oid			relid;
	const char *relname;
	int64		scan_id;		/* its reject records', 0 when it records none */
	bool		dry_run;		/* a dry run or a survey: count, record nothing, stop at nothing */
	int			natts;
	int			pass;			/* passes started: 1 in the first */
} ScanInfo;

typedef struct ScanConsumerKind
{
	const char *name;

	/*
	 * Asked while the query is planned, with no scan yet: marks the columns
	 * (0-based attribute flags) a scan of rel would make this kind read, and
	 * clears *parallel_safe if such a scan must not run in a worker.  NULL:
	 * nothing to say.
	 */
	void		(*plan) (Relation rel, bool *needed, bool *parallel_safe);

	/*
	 * What this kind adds to this scan, allocated in mcxt (which lives as
	 * long as the scan), or NULL for nothing.  Not asked for ANALYZE.
	 */
	void	   *(*take) (ScanHandle *scan, MemoryContext mcxt);

	/* the columns its rows must carry converted (0-based attribute flags) */
	void		(*columns_needed) (void *state, bool *needed);

	/*
	 * Numeric column att (0-based) is converted to an integer at its scale
	 * as well, left in *scaled for every row: a consumer may read that
	 * instead of the numeric.  Called for each such column.
	 */
	void		(*use_scaled) (void *state, int att, const ScaledValue *scaled);

	/* a pass over the files starts: the first, or the first after a rescan */
	void		(*pass_start) (void *state, ScanHandle *scan);

	/*
	 * A converted row, values and nulls per attribute.  False quarantines it
	 * (after scan_quarantine_row); later consumers do not see it.  Runs in
	 * the scan's per-row memory context, reset at the next row.
	 */
	bool		(*row) (void *state, ScanHandle *scan, Datum *values, bool *nulls);

	/* the executor starts the scan over: back to what take returned */
	void		(*rescan) (void *state);

	/* the pass read its last row */
	void		(*end) (void *state, ScanHandle *scan);

	/* once per scan, when it closes: leave its counts for the session */
	void		(*stats) (void *state, ScanHandle *scan);
} ScanConsumerKind;

/* in scan_consumer.c: the kinds registered, in registration order */
extern void scan_consumer_register(const ScanConsumerKind *kind);
extern int	scan_consumer_kinds(const ScanConsumerKind *const **kinds);

/* ---- the scan, for its consumers (in fdw.c) ---- */

extern const ScanInfo *scan_info(const ScanHandle *scan);
/* this pass's files, as text bytes / a typical row's size */
extern double scan_expected_rows(const ScanHandle *scan);

/* files this pass opened; the current one is the last */
extern int	scan_file_count(const ScanHandle *scan);
extern const char *scan_file_name(const ScanHandle *scan, int file);
extern int64 scan_line(const ScanHandle *scan);

/* what one file of this pass gave: rows read = returned + rejected */
typedef struct ScanFileCounts
{
	int64		rows_read;
	int64		rows_rejected;	/* rule rejects included */
	int64		rows_quarantined;	/* by a consumer */
	int64		rows_warned;
} ScanFileCounts;

extern void scan_file_counts(const ScanHandle *scan, int file, ScanFileCounts *counts);

/* the current row: flag it (a WARN-style record; counted once per row) */
extern void scan_flag_row(ScanHandle *scan, const char *code, const char *column, const char *value,
						  const char *message);
extern bool scan_row_flagged(const ScanHandle *scan);
/* the current row: a reject record; the consumer then returns false */
extern void scan_quarantine_row(ScanHandle *scan, const char *code, const char *column, const char *value,
								const char *message);

/*
 * At the end of a pass, a row found bad then (its raw text is gone): a
 * record at its file and line, unless a pass that reached its end before
 * recorded it; counted as warned unless already_flagged.
 */
extern void scan_flag_at(ScanHandle *scan, int file, int64 line, bool already_flagged, const char *code,
						 const char *column, const char *value, const char *message);

#endif							/* INDICINA_SCAN_CONSUMER_H */
