/*-------------------------------------------------------------------------
 *
 * unload_workers.c
 *		Carrying out an unload's shares (planned by unload.c): by the
 *		backend alone, or with parallel workers, each of which reads its
 *		shares and compresses them into parts of its own.
 *
 * Compression is the costly part of an unload, and the one place a
 * nightly run can use every core.  A share is a range of a table's heap
 * blocks (a TID range scan): the processes take shares from one shared
 * counter, so one that finishes early takes the next, and the backend
 * writes whatever no worker took (also when no worker could be started).
 * A share's parts are named after it (part_<share>_<n>), so a delivery's
 * names and bytes do not depend on which process wrote what.
 *
 * The workers run under the backend's snapshot (the parallel context
 * hands it over), so every share of every table comes from the snapshot
 * of the statement that called unload_write.  A worker sends what it wrote
 * to the backend through a queue of its own, one message per share, after
 * the share's parts are committed.  An error in a worker is rethrown in
 * the backend; an error or cancel in the backend ends the workers, whose
 * uncommitted parts are removed (or their uploads aborted) as they exit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/portal.h"

#include "ship/ship.h"

#define FETCH_ROWS 1000
#define QUEUE_SIZE 65536		/* per worker: share reports are small */

/* keys of the parallel context's table of contents */
#define KEY_STATE UINT64CONST(0x1d1c1a0000000001)
#define KEY_JOB UINT64CONST(0x1d1c1a0000000002)
#define KEY_QUEUES UINT64CONST(0x1d1c1a0000000003)

/* what the processes share: the next share to take */
typedef struct UnloadState
{
	pg_atomic_uint32 next_share;
} UnloadState;

/* what one share wrote, as reported */
typedef struct ShareReport
{
	int			table;
	TimestampTz started;
	TimestampTz finished;
	int			ncolumns;
	int		   *widths;
	List	   *parts;			/* PartInfo */
} ShareReport;

PGDLLEXPORT void indicina_unload_worker(dsm_segment *seg, shm_toc *toc);

/* ---- the job, serialized into the parallel context and back ---- */

static void
send_text(StringInfo buf, const char *s)
{
	int			len = s ? (int) strlen(s) : -1;

	pq_sendint32(buf, len);
	if (len > 0)
		pq_sendbytes(buf, s, len);
}

static char *
get_text(StringInfo buf)
{
	int			len = pq_getmsgint(buf, 4);

	if (len < 0)
		return NULL;
	return pnstrdup(pq_getmsgbytes(buf, len), len);
}

static void
serialize_job(StringInfo buf, const UnloadJob *job)
{
	int			i;

	initStringInfo(buf);
	send_text(buf, job->server);
	send_text(buf, job->base);
	send_text(buf, job->url_prefix);
	pq_sendint32(buf, job->compression);
	pq_sendint64(buf, job->max_part_size);
	pq_sendbyte(buf, job->ship_empty);
	pq_sendint32(buf, job->ntables);
	for (i = 0; i < job->ntables; i++)
	{
		send_text(buf, job->tables[i].name);
		send_text(buf, job->tables[i].query);
		send_text(buf, job->tables[i].keys);
		pq_sendint64(buf, job->tables[i].rows);
	}
	pq_sendint32(buf, job->nshares);
	for (i = 0; i < job->nshares; i++)
	{
		const UnloadShare *s = &job->shares[i];

		pq_sendint32(buf, s->table);
		pq_sendint32(buf, s->index);
		pq_sendint64(buf, s->first_block);
		pq_sendint64(buf, s->end_block);
		pq_sendint64(buf, s->rows);
		pq_sendint32(buf, s->nparts);
	}
}

static UnloadJob *
deserialize_job(const char *data, int len)
{
	StringInfoData buf = {.data = (char *) data, .len = len, .maxlen = len, .cursor = 0};
	UnloadJob  *job = palloc0(sizeof(UnloadJob));
	int			i;

	job->server = get_text(&buf);
	job->base = get_text(&buf);
	job->url_prefix = get_text(&buf);
	job->compression = (ShipCompression) pq_getmsgint(&buf, 4);
	job->max_part_size = pq_getmsgint64(&buf);
	job->ship_empty = pq_getmsgbyte(&buf);
	job->ntables = pq_getmsgint(&buf, 4);
	job->tables = palloc0(sizeof(UnloadTable) * Max(job->ntables, 1));
	for (i = 0; i < job->ntables; i++)
	{
		job->tables[i].name = get_text(&buf);
		job->tables[i].query = get_text(&buf);
		job->tables[i].keys = get_text(&buf);
		job->tables[i].rows = pq_getmsgint64(&buf);
	}
	job->nshares = pq_getmsgint(&buf, 4);
	job->shares = palloc0(sizeof(UnloadShare) * Max(job->nshares, 1));
	for (i = 0; i < job->nshares; i++)
	{
		UnloadShare *s = &job->shares[i];

		s->table = pq_getmsgint(&buf, 4);
		s->index = pq_getmsgint(&buf, 4);
		s->first_block = pq_getmsgint64(&buf);
		s->end_block = pq_getmsgint64(&buf);
		s->rows = pq_getmsgint64(&buf);
		s->nparts = pq_getmsgint(&buf, 4);
	}
	return job;
}

/* ---- one share ---- */

/* the indexes of the comma-separated key columns among the query's */
static int *
key_indexes(TupleDesc td, const char *table, const char *keys, int *nkeys)
{
	char	   *list = pstrdup(keys);
	char	   *tok,
			   *save;
	int		   *out = palloc(sizeof(int) * td->natts);

	*nkeys = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		int			i;

		for (i = 0; i < td->natts; i++)
			if (strcmp(NameStr(TupleDescAttr(td, i)->attname), tok) == 0)
				break;
		if (i == td->natts)
			elog(ERROR, "key column \"%s\" of table \"%s\" is not unloaded", tok, table);
		out[(*nkeys)++] = i;
	}
	return out;
}

/* parts appended to into, copied into the current memory context */
static List *
copy_parts(List *into, List *parts)
{
	ListCell   *lc;

	foreach(lc, parts)
	{
		PartInfo   *p = palloc(sizeof(PartInfo));

		*p = *(PartInfo *) lfirst(lc);
		p->relpath = pstrdup(p->relpath);
		p->url = pstrdup(p->url);
		into = lappend(into, p);
	}
	return into;
}

/* the table's query, restricted to the share's blocks */
static char *
share_query(const UnloadTable *t, const UnloadShare *s)
{
	StringInfoData q;

	initStringInfo(&q);
	appendStringInfoString(&q, t->query);
	if (s->first_block >= 0)
		appendStringInfo(&q, " AND ctid >= '(" INT64_FORMAT ",0)'::pg_catalog.tid", s->first_block);
	if (s->end_block >= 0)
		appendStringInfo(&q, " AND ctid < '(" INT64_FORMAT ",0)'::pg_catalog.tid", s->end_block);
	return q.data;
}

/*
 * Writes share s of job into parts through dest; returns what it wrote,
 * in the current memory context.  Runs inside SPI.
 */
static ShareReport *
write_share(const UnloadJob *job, int share, Destination *dest)
{
	const UnloadShare *s = &job->shares[share];
	const UnloadTable *t = &job->tables[s->table];
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(outer, "indicina unload share", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ShareReport *r;
	SPIPlanPtr	plan;
	Portal		portal;
	TupleDesc	td;
	ShipColumn *cols;
	int		   *key_idx;
	int			nkeys;
	int			i;
	PartWriter *w;
	Datum	   *values;
	bool	   *nulls;
	TimestampTz started = GetCurrentTimestamp();
	char	   *query = share_query(t, s);

	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the unload query of table \"%s\": %s", t->name,
			 SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	td = portal->tupDesc;
	cols = palloc0(sizeof(ShipColumn) * td->natts);
	for (i = 0; i < td->natts; i++)
		ship_column_init(&cols[i], t->name, NameStr(TupleDescAttr(td, i)->attname), TupleDescAttr(td, i)->atttypid);
	key_idx = key_indexes(td, t->name, t->keys, &nkeys);
	values = palloc(sizeof(Datum) * td->natts);
	nulls = palloc(sizeof(bool) * td->natts);
	w = part_writer_create(dest, t->name, &csv_format, job->compression, td->natts, cols, nkeys, key_idx,
						   s->rows, s->nparts, job->max_part_size, s->index, cxt);
	MemoryContextSwitchTo(old);
	for (;;)
	{
		uint64		n;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (n = 0; n < SPI_processed; n++)
		{
			CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(SPI_tuptable->vals[n], SPI_tuptable->tupdesc, values, nulls);
			part_writer_add_row(w, values, nulls);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	/* a table's only share writes its empty part */
	part_writer_finish(w, job->ship_empty && t->rows == 0);

	r = palloc0(sizeof(ShareReport));
	r->table = s->table;
	r->started = started;
	r->finished = GetCurrentTimestamp();
	r->ncolumns = w->ncolumns;
	r->widths = palloc(sizeof(int) * Max(w->ncolumns, 1));
	for (i = 0; i < w->ncolumns; i++)
		r->widths[i] = w->columns[i].kind == SHIP_TEXT ? w->columns[i].max_bytes : -1;
	r->parts = copy_parts(NIL, w->parts);
	MemoryContextDelete(cxt);
	return r;
}

/* ---- reports, from a worker to the backend ---- */

static void
serialize_report(StringInfo buf, const ShareReport *r)
{
	ListCell   *lc;
	int			i;

	initStringInfo(buf);
	pq_sendint32(buf, r->table);
	pq_sendint64(buf, r->started);
	pq_sendint64(buf, r->finished);
	pq_sendint32(buf, r->ncolumns);
	for (i = 0; i < r->ncolumns; i++)
		pq_sendint32(buf, r->widths[i]);
	pq_sendint32(buf, list_length(r->parts));
	foreach(lc, r->parts)
	{
		PartInfo   *p = (PartInfo *) lfirst(lc);

		pq_sendint32(buf, p->share);
		pq_sendint32(buf, p->number);
		send_text(buf, p->relpath);
		send_text(buf, p->url);
		pq_sendint64(buf, p->rows);
		pq_sendint64(buf, p->bytes);
		pq_sendint64(buf, p->raw_bytes);
		pq_sendbytes(buf, p->sha256, 64);
	}
}

static ShareReport *
deserialize_report(const char *data, Size len)
{
	StringInfoData buf = {.data = (char *) data, .len = (int) len, .maxlen = (int) len, .cursor = 0};
	ShareReport *r = palloc0(sizeof(ShareReport));
	int			nparts;
	int			i;

	r->table = pq_getmsgint(&buf, 4);
	r->started = pq_getmsgint64(&buf);
	r->finished = pq_getmsgint64(&buf);
	r->ncolumns = pq_getmsgint(&buf, 4);
	r->widths = palloc(sizeof(int) * Max(r->ncolumns, 1));
	for (i = 0; i < r->ncolumns; i++)
		r->widths[i] = pq_getmsgint(&buf, 4);
	nparts = pq_getmsgint(&buf, 4);
	for (i = 0; i < nparts; i++)
	{
		PartInfo   *p = palloc0(sizeof(PartInfo));

		p->share = pq_getmsgint(&buf, 4);
		p->number = pq_getmsgint(&buf, 4);
		p->relpath = get_text(&buf);
		p->url = get_text(&buf);
		p->rows = pq_getmsgint64(&buf);
		p->bytes = pq_getmsgint64(&buf);
		p->raw_bytes = pq_getmsgint64(&buf);
		memcpy(p->sha256, pq_getmsgbytes(&buf, 64), 64);
		p->sha256[64] = '\0';
		r->parts = lappend(r->parts, p);
	}
	pq_getmsgend(&buf);
	return r;
}

/* ---- the shares, taken one at a time ---- */

/* takes shares until none is left; hands each report to report() */
static void
take_shares(const UnloadJob *job, UnloadState *state, Destination *dest,
			void (*report) (ShareReport *r, void *arg), void *arg)
{
	for (;;)
	{
		uint32		share = pg_atomic_fetch_add_u32(&state->next_share, 1);
		MemoryContext cxt;
		MemoryContext old;

		if (share >= (uint32) job->nshares)
			break;
		cxt = AllocSetContextCreate(CurrentMemoryContext, "indicina unload report", ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(cxt);
		report(write_share(job, share, dest), arg);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
	}
}

/* the backend's collection of reports, per table */
typedef struct Collector
{
	MemoryContext mcxt;
	UnloadResult *results;
} Collector;

static void
collect(ShareReport *r, void *arg)
{
	Collector  *c = (Collector *) arg;
	UnloadResult *res = &c->results[r->table];
	MemoryContext old = MemoryContextSwitchTo(c->mcxt);
	int			i;

	if (res->widths == NULL)
	{
		res->ncolumns = r->ncolumns;
		res->widths = palloc(sizeof(int) * Max(r->ncolumns, 1));
		memcpy(res->widths, r->widths, sizeof(int) * r->ncolumns);
		res->started = r->started;
		res->finished = r->finished;
	}
	for (i = 0; i < Min(res->ncolumns, r->ncolumns); i++)
		res->widths[i] = Max(res->widths[i], r->widths[i]);
	res->started = Min(res->started, r->started);
	res->finished = Max(res->finished, r->finished);
	res->parts = copy_parts(res->parts, r->parts);
	MemoryContextSwitchTo(old);
}

/* parts in the order of their names: by share, then number */
static int
part_cmp(const ListCell *a, const ListCell *b)
{
	const PartInfo *x = (const PartInfo *) lfirst(a);
	const PartInfo *y = (const PartInfo *) lfirst(b);

	if (x->share != y->share)
		return (x->share > y->share) - (x->share < y->share);
	return (x->number > y->number) - (x->number < y->number);
}

static UnloadState *
state_create(void *space)
{
	UnloadState *state = (UnloadState *) space;

	pg_atomic_init_u32(&state->next_share, 0);
	return state;
}

/* a worker's queue and the backend's handle on it, after launch */
static shm_mq_handle **
attach_queues(ParallelContext *pcxt, char *queues)
{
	shm_mq_handle **handles = palloc0(sizeof(shm_mq_handle *) * Max(pcxt->nworkers_launched, 1));
	int			i;

	for (i = 0; i < pcxt->nworkers_launched; i++)
	{
		shm_mq	   *mq = (shm_mq *) (queues + (Size) i * QUEUE_SIZE);

		handles[i] = shm_mq_attach(mq, pcxt->seg, pcxt->worker[i].bgwhandle);
	}
	return handles;
}

/* every report of every launched worker, until each has detached */
static void
drain_queues(ParallelContext *pcxt, shm_mq_handle **handles, Collector *c)
{
	int			i;

	for (i = 0; i < pcxt->nworkers_launched; i++)
	{
		for (;;)
		{
			Size		len;
			void	   *data;
			shm_mq_result res = shm_mq_receive(handles[i], &len, &data, false);

			if (res != SHM_MQ_SUCCESS)
				break;			/* detached: the worker is done (or failed) */
			collect(deserialize_report(data, len), c);
		}
	}
}

/*
 * Writes every share of job, with up to workers - 1 parallel workers
 * besides the backend; returns what was written, per table, parts in the
 * order of their names.  workers 1, or a job of one share per table, is
 * written by the backend alone.  dest: the delivery, opened new; the workers join it.
 * *processes: how many wrote (the backend counted).  Runs inside SPI.
 */
UnloadResult *
unload_run(const UnloadJob *job, int workers, Destination *dest, int *processes)
{
	Collector	c;
	int			i;
	bool		split = false;

	c.mcxt = CurrentMemoryContext;
	c.results = palloc0(sizeof(UnloadResult) * Max(job->ntables, 1));
	*processes = 1;
	for (i = 0; i + 1 < job->nshares; i++)
		if (job->shares[i].table == job->shares[i + 1].table)
			split = true;
	if (workers <= 1 || !split)
	{
		UnloadState *state = state_create(palloc(sizeof(UnloadState)));

		take_shares(job, state, dest, collect, &c);
	}
	else
	{
		ParallelContext *pcxt;
		StringInfoData jobdata;
		Size		state_size = sizeof(UnloadState);
		UnloadState *state;
		char	   *jobspace;
		char	   *queues;
		shm_mq_handle **handles;

		serialize_job(&jobdata, job);
		EnterParallelMode();
		pcxt = CreateParallelContext("indicina", "indicina_unload_worker", workers - 1);
		shm_toc_estimate_chunk(&pcxt->estimator, state_size);
		shm_toc_estimate_chunk(&pcxt->estimator, sizeof(int) + jobdata.len);
		shm_toc_estimate_chunk(&pcxt->estimator, (Size) QUEUE_SIZE * (workers - 1));
		shm_toc_estimate_keys(&pcxt->estimator, 3);
		InitializeParallelDSM(pcxt);
		state = state_create(shm_toc_allocate(pcxt->toc, state_size));
		shm_toc_insert(pcxt->toc, KEY_STATE, state);
		jobspace = shm_toc_allocate(pcxt->toc, sizeof(int) + jobdata.len);
		memcpy(jobspace, &jobdata.len, sizeof(int));
		memcpy(jobspace + sizeof(int), jobdata.data, jobdata.len);
		shm_toc_insert(pcxt->toc, KEY_JOB, jobspace);
		queues = shm_toc_allocate(pcxt->toc, (Size) QUEUE_SIZE * (workers - 1));
		for (i = 0; i < workers - 1; i++)
			shm_mq_set_receiver(shm_mq_create(queues + (Size) i * QUEUE_SIZE, QUEUE_SIZE), MyProc);
		shm_toc_insert(pcxt->toc, KEY_QUEUES, queues);
		LaunchParallelWorkers(pcxt);
		*processes = 1 + pcxt->nworkers_launched;
		handles = attach_queues(pcxt, queues);
		/* the backend takes shares too, and all of them if no worker started */
		take_shares(job, state, dest, collect, &c);
		drain_queues(pcxt, handles, &c);
		WaitForParallelWorkersToFinish(pcxt);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
	}
	for (i = 0; i < job->ntables; i++)
		list_sort(c.results[i].parts, part_cmp);
	return c.results;
}

/* a worker's report, into its queue */
static void
send_report(ShareReport *r, void *arg)
{
	shm_mq_handle *mqh = (shm_mq_handle *) arg;
	StringInfoData buf;

	serialize_report(&buf, r);
	if (shm_mq_send(mqh, buf.len, buf.data, false, true) != SHM_MQ_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("the backend of an unload stopped taking its workers' reports")));
}

/* a parallel worker of an unload: shares until none is left */
void
indicina_unload_worker(dsm_segment *seg, shm_toc *toc)
{
	UnloadState *state = shm_toc_lookup(toc, KEY_STATE, false);
	char	   *jobspace = shm_toc_lookup(toc, KEY_JOB, false);
	char	   *queues = shm_toc_lookup(toc, KEY_QUEUES, false);
	shm_mq	   *mq = (shm_mq *) (queues + (Size) ParallelWorkerNumber * QUEUE_SIZE);
	shm_mq_handle *mqh;
	UnloadJob  *job;
	int			len;
	MemoryContext cxt;
	Destination *dest;

	shm_mq_set_sender(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	memcpy(&len, jobspace, sizeof(int));
	/* under the transaction: an error or exit removes what is not committed */
	cxt = AllocSetContextCreate(TopTransactionContext, "indicina unload worker", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	job = deserialize_job(jobspace + sizeof(int), len);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	dest = destination_open(job->server, job->base, job->url_prefix, DEST_JOINED, cxt);
	take_shares(job, state, dest, send_report, mqh);
	SPI_finish();
	shm_mq_detach(mqh);
}
