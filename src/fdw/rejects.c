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
 * read back by indicina.load_errors under a shared one.  A scan buffers its
 * records and writes them when the buffer fills, when it ends, and, through
 * a memory-context callback, when its transaction aborts.  When the file
 * passes indicina.load_errors_max_size it becomes load_errors.log.1 (the
 * previous .1 is dropped), so the log is bounded at about twice that size.
 *
 * The file is the cluster's: each record carries its database's OID and its
 * relation's OID and schema-qualified name, and a database reads and clears
 * only its own records.  The lock is the current file's; whoever renames it
 * (rotation, clear_load_errors) holds it, and whoever locks it checks that
 * the file it locked is still the one at the path.  Lines that are not
 * whole records (a crash mid-write, the format before 0.1.0) are skipped
 * and reported in a WARNING.
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
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "core/append_log.h"
#include "fdw/fdw.h"

#define REJECT_FILE LOG_DIR "/load_errors.log"
#define REJECT_FILE_OLD LOG_DIR "/load_errors.log.1"
#define REJECT_FILE_TMP LOG_DIR "/load_errors.log.tmp"
#define REJECT_FLUSH_AT (64 * 1024)
#define REJECT_FIELDS 13

/* stored fields (see reject_log_add) */
enum
{
	F_SCAN, F_AT, F_DB, F_RELID, F_RELNAME, F_FILE, F_LINE, F_OFFSET,
	F_COLUMN, F_CODE, F_MESSAGE, F_VALUE, F_RAW
};

static int	load_errors_max_size_kb = 64 * 1024;
bool		indicina_log_raw_rows = false;

struct RejectLog
{
	StringInfoData buf;
	MemoryContext cxt;
	Oid			relid;			/* the relation whose name is cached */
	char	   *relname;
};

void
rejects_init(void)
{
	DefineCustomIntVariable("indicina.load_errors_max_size",
							"Size at which the reject log is rotated; at most two generations are kept.",
							NULL, &load_errors_max_size_kb, 64 * 1024, 64, INT_MAX / 2,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomBoolVariable("indicina.log_raw_rows",
							 "Whether error messages about rejected rows and failed rules quote the rows' values.",
							 "Off: the values (which may be personal data) stay in the reject log and the run "
							 "journal and out of the server log.",
							 &indicina_log_raw_rows, false, PGC_SUSET, 0, NULL, NULL, NULL);
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
 * rotating first if the file is too large.  Best effort when called from
 * an aborting transaction (quiet): a reject log that cannot be written must
 * not turn an abort into a PANIC.
 */
static void
write_records(StringInfo buf, bool quiet)
{
	log_append(REJECT_FILE, REJECT_FILE_OLD, (int64) load_errors_max_size_kb * 1024, buf, quiet);
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
	log->cxt = mcxt;
	cb->func = reject_log_callback;
	cb->arg = log;
	MemoryContextRegisterResetCallback(mcxt, cb);
	return log;
}

/* schema.name of relid, quoted as needed; NULL for a relation that is gone */
static const char *
relation_name(RejectLog *log, Oid relid)
{
	if (relid != log->relid || log->relname == NULL)
	{
		char	   *rel = get_rel_name(relid);
		char	   *nsp = rel ? get_namespace_name(get_rel_namespace(relid)) : NULL;

		log->relid = relid;
		log->relname = rel && nsp ? MemoryContextStrdup(log->cxt, quote_qualified_identifier(nsp, rel)) : NULL;
	}
	return log->relname;
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
	append_int(b, MyDatabaseId, false);
	append_int(b, rec->relid, false);
	append_text(b, OidIsValid(rec->relid) ? relation_name(log, rec->relid) : NULL, false);
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

/* a whole OID field, or false */
static bool
parse_oid(const char *s, Oid *oid)
{
	char	   *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v > PG_UINT32_MAX)
		return false;
	*oid = (Oid) v;
	return true;
}

/*
 * Splits a record line in place into its fields (still escaped).  False
 * for a line that is not a whole record of this format.
 */
static bool
split_record(LogReader *r, char **fields, Oid *db, Oid *relid)
{
	char	   *p = r->line.data;
	int			n = 0;

	if (!r->complete)
		return false;
	fields[n++] = p;
	for (; *p; p++)
		if (*p == '\t')
		{
			if (n == REJECT_FIELDS)
				return false;
			*p = '\0';
			fields[n++] = p + 1;
		}
	return n == REJECT_FIELDS && parse_oid(fields[F_DB], db) && parse_oid(fields[F_RELID], relid);
}

/* whether a record of db/relid is the caller's: this database's, of relid if given */
static inline bool
record_is_ours(Oid db, Oid relid, Oid only_relid)
{
	return db == MyDatabaseId && (!OidIsValid(only_relid) || relid == only_relid);
}

/*
 * How relation shows: as regclass prints it (schema-qualified when not on
 * the search_path), or the recorded name once the relation is gone.
 */
static Datum
relation_display(Oid relid, const char *recorded, Oid *cached_relid, Datum *cached)
{
	if (relid != *cached_relid || *cached == (Datum) 0)
	{
		*cached_relid = relid;
		if (OidIsValid(relid) && SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			*cached = DirectFunctionCall1(textin, DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));
		else
			*cached = recorded ? CStringGetTextDatum(recorded) : (Datum) 0;
	}
	return *cached;
}

/*
 * Whether the caller may read the records of relid: a relation it may
 * SELECT from.  Records of a relation that is gone, or of none, are the
 * superuser's only: nobody's rights on them can be checked.  The verdict
 * is kept for the last relation asked about, since records come in runs.
 */
static bool
relation_readable(Oid relid, Oid *cached_relid, int *cached)
{
	if (relid != *cached_relid || *cached < 0)
	{
		bool		missing = false;

		*cached_relid = relid;
		*cached = OidIsValid(relid) &&
			pg_class_aclcheck_ext(relid, GetUserId(), ACL_SELECT, &missing) == ACLCHECK_OK &&
			!missing;
	}
	return *cached > 0;
}

/*
 * The records of this database in path that the caller may read (all, for
 * a superuser) into ts: scan_id, logged_at,
 * relation, file, line, byte_offset, column_name, code, message,
 * raw_value, raw_line, relation_id, relation_name.
 */
static void
read_log_file(const char *path, Tuplestorestate *ts, TupleDesc desc, LogDamage *damage)
{
	LogReader	r;
	Oid			shown_relid = InvalidOid;
	Datum		shown = (Datum) 0;
	bool		all = superuser();
	Oid			checked_relid = InvalidOid;
	int			readable = -1;

	if (!log_reader_open(&r, path, 0))
		return;
	while (log_read_line(&r))
	{
		char	   *fields[REJECT_FIELDS];
		Datum		values[13];
		bool		nulls[13];
		Oid			db,
					relid;
		char	   *relname;
		int			i;

		if (!split_record(&r, fields, &db, &relid))
		{
			log_damage_add(damage, &r);
			continue;
		}
		if (!record_is_ours(db, relid, InvalidOid))
			continue;
		if (!all && !relation_readable(relid, &checked_relid, &readable))
			continue;
		memset(nulls, 0, sizeof(nulls));
		relname = unescape(fields[F_RELNAME]);
		values[2] = relation_display(relid, relname, &shown_relid, &shown);
		nulls[2] = values[2] == (Datum) 0;
		values[11] = ObjectIdGetDatum(relid);
		nulls[11] = !OidIsValid(relid);
		values[12] = relname ? CStringGetTextDatum(relname) : (Datum) 0;
		nulls[12] = relname == NULL;
		for (i = 0; i < REJECT_FIELDS; i++)
		{
			char	   *v;
			int			col = i < F_DB ? i : i - 2;

			if (i == F_DB || i == F_RELID || i == F_RELNAME)
				continue;
			v = unescape(fields[i]);
			nulls[col] = v == NULL;
			if (v == NULL)
				values[col] = (Datum) 0;
			else if (i == F_SCAN || i == F_LINE || i == F_OFFSET)
				values[col] = Int64GetDatum(strtoll(v, NULL, 10));
			else if (i == F_AT)
				values[col] = TimestampTzGetDatum((TimestampTz) strtoll(v, NULL, 10));
			else
				values[col] = CStringGetTextDatum(v);
		}
		tuplestore_putvalues(ts, desc, values, nulls);
	}
	log_reader_close(&r);
}

PG_FUNCTION_INFO_V1(indicina_load_errors);

/* This database's reject records, oldest generation first, in the order written. */
Datum
indicina_load_errors(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LogDamage	damage_old = {0},
				damage = {0};
	int			lock;

	InitMaterializedSRF(fcinfo, 0);
	lock = log_lock_file(REJECT_FILE, LOCK_SH);
	if (lock < 0)
		return (Datum) 0;
	/* let go of the lock at once on an error (a cancel): an aborting scan may need it */
	PG_TRY();
	{
		read_log_file(REJECT_FILE_OLD, rsinfo->setResult, rsinfo->setDesc, &damage_old);
		read_log_file(REJECT_FILE, rsinfo->setResult, rsinfo->setDesc, &damage);
	}
	PG_CATCH();
	{
		CloseTransientFile(lock);
		PG_RE_THROW();
	}
	PG_END_TRY();
	CloseTransientFile(lock);
	log_damage_report(&damage_old, REJECT_FILE_OLD);
	log_damage_report(&damage, REJECT_FILE);
	return (Datum) 0;
}

/*
 * Rewrites path without the caller's records; returns how many went.
 * Damaged lines stay: they name no database for sure, so no database may
 * clear them (they go with rotation).  The caller holds the exclusive lock.
 */
static int64
clear_file(const char *path, Oid only_relid)
{
	LogReader	r;
	int			out;
	int64		n = 0;
	bool		changed = false;
	StringInfoData kept;

	if (!log_reader_open(&r, path, 0))
		return 0;
	out = OpenTransientFile(REJECT_FILE_TMP, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (out < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", REJECT_FILE_TMP)));
	initStringInfo(&kept);
	while (log_read_line(&r))
	{
		char	   *fields[REJECT_FIELDS];
		Oid			db,
					relid;
		bool		whole;
		StringInfoData copy;

		/* split_record works in place: keep the line as it was */
		initStringInfo(&copy);
		appendBinaryStringInfo(&copy, r.line.data, r.line.len);
		whole = split_record(&r, fields, &db, &relid);
		if (whole && record_is_ours(db, relid, only_relid))
		{
			n++;
			changed = true;
		}
		else
		{
			appendBinaryStringInfo(&kept, copy.data, copy.len);
			appendStringInfoChar(&kept, '\n');
		}
		pfree(copy.data);
		if (kept.len >= LOG_READ_BLOCK)
		{
			if (write(out, kept.data, kept.len) != kept.len)
				ereport(ERROR, (errcode_for_file_access(), errmsg("could not write \"%s\": %m", REJECT_FILE_TMP)));
			resetStringInfo(&kept);
		}
	}
	log_reader_close(&r);
	if (kept.len > 0 && write(out, kept.data, kept.len) != kept.len)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not write \"%s\": %m", REJECT_FILE_TMP)));
	if (CloseTransientFile(out) != 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not close \"%s\": %m", REJECT_FILE_TMP)));
	if (changed && rename(REJECT_FILE_TMP, path) != 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not rename \"%s\" to \"%s\": %m", REJECT_FILE_TMP, path)));
	if (!changed)
		unlink(REJECT_FILE_TMP);
	return n;
}

PG_FUNCTION_INFO_V1(indicina_clear_load_errors);

/*
 * Removes this database's records from the reject log (only those of the
 * relation, when one is given); returns how many there were.  Other
 * databases' records and damaged lines stay.  Under the exclusive lock, so no record written
 * meanwhile is lost or counted; the current generation is rewritten last,
 * so writers waiting for its lock see the rename and reopen.
 */
Datum
indicina_clear_load_errors(PG_FUNCTION_ARGS)
{
	Oid			only_relid = PG_NARGS() > 0 ? PG_GETARG_OID(0) : InvalidOid;
	int64		n = 0;
	int			lock;

	lock = log_lock_file(REJECT_FILE, LOCK_EX);
	if (lock < 0)
		PG_RETURN_INT64(0);
	PG_TRY();
	{
		n += clear_file(REJECT_FILE_OLD, only_relid);
		n += clear_file(REJECT_FILE, only_relid);
	}
	PG_CATCH();
	{
		CloseTransientFile(lock);
		PG_RE_THROW();
	}
	PG_END_TRY();
	CloseTransientFile(lock);
	PG_RETURN_INT64(n);
}

/*
 * indicina.log_reject(scan_id, relation, file, line, column, code, message,
 * value, raw): one record written at once.  Set rules (which see a whole
 * batch, after the scan) quarantine their rows with it, so every row not
 * loaded is in the same log, whatever rule or parser turned it away.
 * relation is anything regclass reads (a name or an OID).
 */
PG_FUNCTION_INFO_V1(indicina_log_reject);
Datum
indicina_log_reject(PG_FUNCTION_ARGS)
{
	RejectRecord rec = {0};
	RejectLog  *log = reject_log_open(CurrentMemoryContext);

#define TEXT_ARG(n) (PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n)))
	rec.scan_id = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	rec.relid = PG_ARGISNULL(1) ? InvalidOid :
		DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(TEXT_ARG(1))));
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
