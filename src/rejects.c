/*-------------------------------------------------------------------------
 *
 * rejects.c
 *		The reject log: every row a scan did not return, with where it was,
 *		what it said and why, kept in a file under the data directory so
 *		it survives the rollback of the transaction that read it.
 *
 * PostgreSQL 15 has no autonomous transactions: a reject written to a table
 * would vanish with the very failure (reject_limit exceeded, a cancel) that
 * makes it interesting.  So records are appended to
 * $PGDATA/pg_indicina/load_errors.log, one line each, tab-separated with
 * COPY-style escapes, in single write() calls under an exclusive flock, and
 * read back by indicina.load_errors.  A scan buffers its records and writes
 * them when the buffer fills, when it ends, and, through a memory-context
 * callback, when its transaction aborts.  When the file passes
 * indicina.load_errors_max_size it becomes load_errors.log.1 (the previous
 * .1 is dropped), so the log is bounded at about twice that size.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "fdw.h"

#define REJECT_DIR "pg_indicina"
#define REJECT_FILE REJECT_DIR "/load_errors.log"
#define REJECT_FILE_OLD REJECT_DIR "/load_errors.log.1"
#define REJECT_FLUSH_AT (64 * 1024)
#define REJECT_FIELDS 11

static int	load_errors_max_size_kb = 64 * 1024;

struct RejectLog
{
	StringInfoData buf;
};

void
rejects_init(void)
{
	DefineCustomIntVariable("indicina.load_errors_max_size",
							"Size at which the reject log is rotated; at most two generations are kept.",
							NULL, &load_errors_max_size_kb, 64 * 1024, 64, INT_MAX / 2,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
}

/* appends a field, escaped like COPY's text format; NULL as \N */
static void
append_field(StringInfo buf, const char *s, int len, bool last)
{
	int			i;

	if (s == NULL)
		appendBinaryStringInfo(buf, "\\N", 2);
	else
		for (i = 0; i < len; i++)
		{
			char		c = s[i];

			if (c == '\t')
				appendBinaryStringInfo(buf, "\\t", 2);
			else if (c == '\n')
				appendBinaryStringInfo(buf, "\\n", 2);
			else if (c == '\r')
				appendBinaryStringInfo(buf, "\\r", 2);
			else if (c == '\\')
				appendBinaryStringInfo(buf, "\\\\", 2);
			else
				appendStringInfoCharMacro(buf, c);
		}
	appendStringInfoChar(buf, last ? '\n' : '\t');
}

static void
append_text(StringInfo buf, const char *s, bool last)
{
	append_field(buf, s, s ? strlen(s) : 0, last);
}

static void
append_int(StringInfo buf, int64 v, bool last)
{
	char		num[32];

	snprintf(num, sizeof(num), "%lld", (long long) v);
	append_text(buf, num, last);
}

/*
 * Writes the buffered records with one write() under an exclusive lock,
 * rotating first if the file is too large.  Best effort and silent when
 * called from an aborting transaction (quiet): a reject log that cannot be
 * written must not turn an abort into a PANIC.
 */
static void
write_records(StringInfo buf, bool quiet)
{
	log_append(REJECT_FILE, REJECT_FILE_OLD, (int64) load_errors_max_size_kb * 1024, buf, quiet);
}

/*
 * Appends buf to file (under pg_indicina) in one write() under an
 * exclusive flock and empties buf.  With old_file set, a file past
 * max_bytes is renamed to old_file first.  The journal (journal.c) uses it
 * too.
 */
void
log_append(const char *file, const char *old_file, int64 max_bytes, StringInfo buf, bool quiet)
{
	int			fd;
	struct stat st;

	if (buf->len == 0)
		return;
	if (mkdir(REJECT_DIR, S_IRWXU) != 0 && errno != EEXIST && !quiet)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create directory \"%s\": %m", REJECT_DIR)));
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		if (!quiet)
			ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", file)));
		return;
	}
	if (flock(fd, LOCK_EX) == 0)
	{
		/* rotate under the lock; the next writer opens the new file */
		if (old_file && fstat(fd, &st) == 0 && st.st_size > (off_t) max_bytes && st.st_nlink > 0)
		{
			if (rename(file, old_file) == 0)
			{
				close(fd);
				fd = open(file, O_WRONLY | O_APPEND | O_CREAT | PG_BINARY, S_IRUSR | S_IWUSR);
				if (fd < 0 || flock(fd, LOCK_EX) != 0)
				{
					if (fd >= 0)
						close(fd);
					return;
				}
			}
		}
		if (write(fd, buf->data, buf->len) != buf->len && !quiet)
		{
			int			save = errno;

			close(fd);
			errno = save;
			ereport(ERROR, (errcode_for_file_access(), errmsg("could not write \"%s\": %m", file)));
		}
	}
	close(fd);
	resetStringInfo(buf);
}

/* the scan's memory is going away: an abort or the end of the query */
static void
reject_log_callback(void *arg)
{
	RejectLog  *log = (RejectLog *) arg;

	write_records(&log->buf, true);
}

RejectLog *
reject_log_open(MemoryContext mcxt)
{
	RejectLog  *log = MemoryContextAllocZero(mcxt, sizeof(RejectLog));
	MemoryContextCallback *cb = MemoryContextAlloc(mcxt, sizeof(MemoryContextCallback));
	MemoryContext old = MemoryContextSwitchTo(mcxt);

	initStringInfo(&log->buf);
	MemoryContextSwitchTo(old);
	cb->func = reject_log_callback;
	cb->arg = log;
	MemoryContextRegisterResetCallback(mcxt, cb);
	return log;
}

void
reject_log_add(RejectLog *log, const RejectRecord *rec)
{
	StringInfo	b = &log->buf;

	/* set-rule records (indicina.log_reject) have no scan and no offset: NULL */
	if (rec->scan_id > 0)
		append_int(b, rec->scan_id, false);
	else
		append_text(b, NULL, false);
	append_int(b, GetCurrentTimestamp(), false);
	append_text(b, rec->relation, false);
	append_text(b, rec->file, false);
	append_int(b, rec->line, false);
	if (rec->byte_offset >= 0)
		append_int(b, rec->byte_offset, false);
	else
		append_text(b, NULL, false);
	append_text(b, rec->column, false);
	append_text(b, rec->code, false);
	append_text(b, rec->message, false);
	append_field(b, rec->value, rec->value_len, false);
	append_field(b, rec->raw, rec->raw_len, true);
	if (b->len >= REJECT_FLUSH_AT)
		write_records(b, false);
}

void
reject_log_flush(RejectLog *log)
{
	write_records(&log->buf, false);
}

/* a number from indicina.scan_id_seq: nextval is not rolled back */
int64
reject_next_scan_id(void)
{
	Oid			seq = get_relname_relid("scan_id_seq", get_namespace_oid("indicina", false));

	if (!OidIsValid(seq))
		elog(ERROR, "sequence indicina.scan_id_seq is missing");
	return nextval_internal(seq, false);
}

/* undoes append_field's escapes in place; returns NULL for \N */
static char *
unescape(char *s)
{
	char	   *r = s,
			   *w = s;

	if (strcmp(s, "\\N") == 0)
		return NULL;
	while (*r)
	{
		if (*r == '\\' && r[1])
		{
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
			r++;
		}
		else
			*w++ = *r++;
	}
	*w = '\0';
	return s;
}

static void
read_log_file(const char *path, Tuplestorestate *ts, TupleDesc desc)
{
	FILE	   *f = AllocateFile(path, "r");
	StringInfoData line;
	int			c;

	if (!f)
	{
		if (errno == ENOENT)
			return;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", path)));
	}
	initStringInfo(&line);
	for (;;)
	{
		char	   *fields[REJECT_FIELDS];
		Datum		values[REJECT_FIELDS];
		bool		nulls[REJECT_FIELDS];
		char	   *p;
		int			n = 0,
					i;

		resetStringInfo(&line);
		while ((c = getc(f)) != EOF && c != '\n')
			appendStringInfoChar(&line, (char) c);
		if (c == EOF && line.len == 0)
			break;
		CHECK_FOR_INTERRUPTS();
		p = line.data;
		fields[n++] = p;
		for (; *p && n < REJECT_FIELDS; p++)
			if (*p == '\t')
			{
				*p = '\0';
				fields[n++] = p + 1;
			}
		if (n != REJECT_FIELDS)
			continue;			/* a torn line (a crash mid-write): skip it */
		for (i = 0; i < REJECT_FIELDS; i++)
		{
			char	   *v = unescape(fields[i]);

			nulls[i] = v == NULL;
			if (v == NULL)
				values[i] = (Datum) 0;
			else if (i == 0 || i == 4 || i == 5)
				values[i] = Int64GetDatum(strtoll(v, NULL, 10));
			else if (i == 1)
				values[i] = TimestampTzGetDatum((TimestampTz) strtoll(v, NULL, 10));
			else
				values[i] = CStringGetTextDatum(v);
		}
		tuplestore_putvalues(ts, desc, values, nulls);
	}
	FreeFile(f);
}

PG_FUNCTION_INFO_V1(indicina_load_errors);

/* The reject log, oldest generation first, in the order it was written. */
Datum
indicina_load_errors(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	read_log_file(REJECT_FILE_OLD, rsinfo->setResult, rsinfo->setDesc);
	read_log_file(REJECT_FILE, rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(indicina_clear_load_errors);

/* Empties the reject log; returns how many records it held. */
Datum
indicina_clear_load_errors(PG_FUNCTION_ARGS)
{
	int64		n = 0;
	const char *paths[] = {REJECT_FILE_OLD, REJECT_FILE};
	int			i;

	for (i = 0; i < 2; i++)
	{
		FILE	   *f = AllocateFile(paths[i], "r");
		int			c;
		int			fd;

		if (!f)
			continue;
		while ((c = getc(f)) != EOF)
			if (c == '\n')
				n++;
		FreeFile(f);
		fd = open(paths[i], O_WRONLY | PG_BINARY, 0);
		if (fd >= 0)
		{
			if (flock(fd, LOCK_EX) == 0 && ftruncate(fd, 0) != 0)
				ereport(WARNING, (errcode_for_file_access(), errmsg("could not truncate \"%s\": %m", paths[i])));
			close(fd);
		}
	}
	PG_RETURN_INT64(n);
}

/*
 * indicina.log_reject(scan_id, relation, file, line, column, code, message,
 * value, raw): one record written at once.  Set rules (which see a whole
 * batch, after the scan) quarantine their rows with it, so every row not
 * loaded is in the same log, whatever rule or parser turned it away.
 */
PG_FUNCTION_INFO_V1(indicina_log_reject);
Datum
indicina_log_reject(PG_FUNCTION_ARGS)
{
	RejectRecord rec = {0};
	RejectLog  *log = reject_log_open(CurrentMemoryContext);

#define TEXT_ARG(n) (PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n)))
	rec.scan_id = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	rec.relation = TEXT_ARG(1);
	rec.file = TEXT_ARG(2);
	rec.line = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3);
	rec.byte_offset = -1;
	rec.column = TEXT_ARG(4);
	rec.code = TEXT_ARG(5);
	rec.message = TEXT_ARG(6);
	rec.value = TEXT_ARG(7);
	rec.value_len = rec.value ? strlen(rec.value) : 0;
	rec.raw = TEXT_ARG(8);
	rec.raw_len = rec.raw ? strlen(rec.raw) : 0;
#undef TEXT_ARG
	if (rec.code == NULL)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("a reject record needs a code")));
	reject_log_add(log, &rec);
	reject_log_flush(log);
	PG_RETURN_VOID();
}
