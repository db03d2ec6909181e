/*-------------------------------------------------------------------------
 *
 * parallel_files.c
 *		Sharing a scan's files among parallel workers, a whole file at a
 *		time.
 *
 * A survey (indicina.survey) records nothing, stops at nothing and judges
 * no set rule: each row stands alone, so several processes can read the
 * files of one scan at once, each taking the next file not yet taken, and
 * a Gather above them (with partial aggregates below it) sees every row
 * once.  run_pipeline's first pass over a night's statement files is such
 * a scan.  A load never runs in parallel: its reject log, its per-file
 * counts and its set rules live in one backend.
 *
 * The leader puts the names of the files it resolved into shared memory;
 * a worker resolves the table's files itself and must find the same ones
 * (a file that arrived in between would otherwise be read by some
 * processes and not by others).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "port/atomics.h"
#include "utils/builtins.h"

#include "fdw/fdw.h"

typedef struct ParallelFiles
{
	pg_atomic_uint32 next;		/* index of the next file to take */
	/* the workers' rows, added as each finishes, for the leader's EXPLAIN ANALYZE */
	pg_atomic_uint64 rows_read;
	pg_atomic_uint64 rows_rejected;
	uint32		nfiles;
	Size		names_len;
	char		names[FLEXIBLE_ARRAY_MEMBER];	/* display names, each ending in \0 */
} ParallelFiles;

static Size
names_length(List *files)
{
	ListCell   *lc;
	Size		len = 0;

	foreach(lc, files)
		len += strlen(((CsvFile *) lfirst(lc))->display) + 1;
	return len;
}

Size
parallel_files_size(List *files)
{
	return add_size(offsetof(ParallelFiles, names), names_length(files));
}

void
parallel_files_init(void *coordinate, List *files)
{
	ParallelFiles *pf = (ParallelFiles *) coordinate;
	ListCell   *lc;
	char	   *p = pf->names;

	pg_atomic_init_u32(&pf->next, 0);
	pg_atomic_init_u64(&pf->rows_read, 0);
	pg_atomic_init_u64(&pf->rows_rejected, 0);
	pf->nfiles = list_length(files);
	pf->names_len = names_length(files);
	foreach(lc, files)
	{
		const char *name = ((CsvFile *) lfirst(lc))->display;

		strcpy(p, name);
		p += strlen(name) + 1;
	}
}

/* a worker's files must be the leader's, in the same order */
void
parallel_files_check(void *coordinate, List *files, const char *relname)
{
	ParallelFiles *pf = (ParallelFiles *) coordinate;
	ListCell   *lc;
	const char *p = pf->names;

	if (pf->nfiles == (uint32) list_length(files) && pf->names_len == names_length(files))
	{
		foreach(lc, files)
		{
			const char *name = ((CsvFile *) lfirst(lc))->display;

			if (strcmp(p, name) != 0)
				break;
			p += strlen(name) + 1;
		}
		if (lc == NULL)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the files of indicina_csv table \"%s\" changed while its parallel scan started", relname),
			 errhint("Run the query again.")));
}

/* the index of the next file for this process to read, or -1 when all are taken */
int
parallel_files_next(void *coordinate)
{
	ParallelFiles *pf = (ParallelFiles *) coordinate;
	uint32		i = pg_atomic_fetch_add_u32(&pf->next, 1);

	return i < pf->nfiles ? (int) i : -1;
}

/*
 * A worker's rows, added when it finds no file left: before its last row
 * reaches the Gather, so the leader reads them complete once the Gather
 * is done (ShutdownForeignScan, while the shared memory still exists).
 */
void
parallel_files_add_counts(void *coordinate, int64 rows_read, int64 rows_rejected)
{
	ParallelFiles *pf = (ParallelFiles *) coordinate;

	pg_atomic_fetch_add_u64(&pf->rows_read, (uint64) rows_read);
	pg_atomic_fetch_add_u64(&pf->rows_rejected, (uint64) rows_rejected);
}

void
parallel_files_counts(void *coordinate, int64 *rows_read, int64 *rows_rejected)
{
	ParallelFiles *pf = (ParallelFiles *) coordinate;

	*rows_read = (int64) pg_atomic_read_u64(&pf->rows_read);
	*rows_rejected = (int64) pg_atomic_read_u64(&pf->rows_rejected);
}
