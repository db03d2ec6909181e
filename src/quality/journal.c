/*-------------------------------------------------------------------------
 *
 * journal.c
 *		The run journal: pipeline runs and quality results, one JSON
 *		document per line in $PGDATA/pg_indicina/journal.log, written
 *		outside the transaction so a failed run's record survives the
 *		rollback of everything it did.
 *
 * A run that fails must leave the warehouse exactly as it was and still
 * say why; PostgreSQL 15 has no autonomous transactions, so the history
 * lives in an append-only file like the reject log (rejects.c does the
 * locked write).  Whether a run's work was kept is not the journal's to
 * say: each run records its transaction id and the views ask
 * pg_xact_status().  The journal is never rotated: it is the history.
 *
 * Writes are whole lines or nothing (log_append ends a torn last line
 * before appending).  Reads skip a line that is not a whole entry and say
 * so in a WARNING.  So that the views do not re-read the whole history on
 * every query, a backend keeps the entries of its database it has read
 * (parsed, in a memory context of its own) together with the file's device,
 * inode and the offset it read up to; the next read parses only what was
 * appended since, and a different file, or a shorter one, starts over.
 * The file stays the only record: nothing of the cache is written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/file.h>
#include <sys/stat.h>

#include "common/jsonapi.h"
#include "fmgr.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "mb/pg_wchar.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "core/append_log.h"

#define JOURNAL_FILE LOG_DIR "/journal.log"

/*
 * indicina.journal_write(kind text, entry jsonb): one line
 * "kind<TAB>database oid<TAB>json".  The file is the cluster's; each
 * database reads back only its own lines.
 */
PG_FUNCTION_INFO_V1(indicina_journal_write);
Datum
indicina_journal_write(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *entry = PG_GETARG_JSONB_P(1);
	StringInfoData buf;
	const char *p;

	for (p = kind; *p; p++)
		if (*p == '\t' || *p == '\n')
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid journal kind")));
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\t%u\t", kind, MyDatabaseId);
	/* jsonb's text form escapes control characters: one line per entry */
	JsonbToCString(&buf, &entry->root, VARSIZE(entry));
	appendStringInfoChar(&buf, '\n');
	log_append(JOURNAL_FILE, NULL, 0, &buf, false);
	PG_RETURN_VOID();
}

/* ---- reading, through a per-backend cache of this database's entries ---- */

typedef struct JournalEntry
{
	char	   *kind;
	Jsonb	   *doc;
} JournalEntry;

typedef struct JournalCache
{
	MemoryContext cxt;			/* NULL: nothing cached */
	dev_t		dev;
	ino_t		ino;
	off_t		end;			/* offset just past the last whole line read */
	int64		lineno;			/* lines up to end */
	LogDamage	damage;			/* damaged whole lines up to end */
	JournalEntry *entries;
	int			nentries;
	int			maxentries;
} JournalCache;

static JournalCache cache;

static void cache_read(LogReader *r, LogDamage *damage, MemoryContext tmp);

/* the statement that was last told about damaged lines, and how many */
static TimestampTz warned_at;
static int64 warned_count;

static void
cache_reset(void)
{
	if (cache.cxt)
		MemoryContextDelete(cache.cxt);
	memset(&cache, 0, sizeof(cache));
	cache.cxt = AllocSetContextCreate(TopMemoryContext, "indicina journal", ALLOCSET_DEFAULT_SIZES);
	cache.maxentries = 64;
	cache.entries = MemoryContextAlloc(cache.cxt, sizeof(JournalEntry) * cache.maxentries);
}

/* a whole JSON document (checked without raising, so a damaged line is only skipped) */
static bool
json_is_whole(char *json, int len)
{
	JsonLexContext *lex = makeJsonLexContextCstringLen(json, len, GetDatabaseEncoding(), true);

	return pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS;
}

/*
 * One line "kind<TAB>database<TAB>json" into the cache when it is this
 * database's; false when it is not a whole entry.
 */
static bool
cache_line(char *line, int len, MemoryContext tmp)
{
	char	   *t1 = memchr(line, '\t', len);
	char	   *t2 = t1 ? memchr(t1 + 1, '\t', len - (t1 + 1 - line)) : NULL;
	char	   *end;
	unsigned long db;
	MemoryContext old;
	Datum		doc;
	JournalEntry *e;

	if (t1 == NULL || t2 == NULL || t1 == line || t2 == t1 + 1)
		return false;
	errno = 0;
	db = strtoul(t1 + 1, &end, 10);
	if (end != t2 || errno != 0 || db > PG_UINT32_MAX)
		return false;
	if ((Oid) db != MyDatabaseId)
		return true;			/* another database's: its reads judge it */
	old = MemoryContextSwitchTo(tmp);
	if (!json_is_whole(t2 + 1, len - (t2 + 1 - line)))
	{
		MemoryContextSwitchTo(old);
		return false;
	}
	doc = DirectFunctionCall1(jsonb_in, CStringGetDatum(t2 + 1));
	MemoryContextSwitchTo(cache.cxt);
	if (cache.nentries == cache.maxentries)
	{
		cache.maxentries *= 2;
		cache.entries = repalloc_huge(cache.entries, sizeof(JournalEntry) * cache.maxentries);
	}
	e = &cache.entries[cache.nentries++];
	e->kind = pnstrdup(line, t1 - line);
	e->doc = DatumGetJsonbPCopy(doc);
	MemoryContextSwitchTo(old);
	MemoryContextReset(tmp);
	return true;
}

/*
 * Brings the cache up to the end of the journal, under a shared lock (no
 * write is half done meanwhile).  Returns what is damaged: the cache's
 * damaged lines and, if the last line is torn, that one too (not cached:
 * the next append ends it and it is read again, whole and still damaged).
 * False when there is no journal.
 */
static bool
cache_refresh(LogDamage *damage)
{
	int			lock = log_lock_file(JOURNAL_FILE, LOCK_SH);
	struct stat st;
	LogReader	r;
	MemoryContext tmp;

	if (lock < 0)
		return false;
	if (fstat(lock, &st) != 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not stat \"%s\": %m", JOURNAL_FILE)));
	if (cache.cxt == NULL || st.st_dev != cache.dev || st.st_ino != cache.ino || st.st_size < cache.end)
	{
		cache_reset();
		cache.dev = st.st_dev;
		cache.ino = st.st_ino;
	}
	*damage = cache.damage;
	if (st.st_size == cache.end || !log_reader_open(&r, JOURNAL_FILE, cache.end))
	{
		CloseTransientFile(lock);
		return true;
	}
	r.lineno = cache.lineno;
	tmp = AllocSetContextCreate(CurrentMemoryContext, "indicina journal line", ALLOCSET_DEFAULT_SIZES);
	/* let go of the lock at once on an error (a cancel): a writer may be waiting */
	PG_TRY();
	{
		cache_read(&r, damage, tmp);
	}
	PG_CATCH();
	{
		CloseTransientFile(lock);
		PG_RE_THROW();
	}
	PG_END_TRY();
	log_reader_close(&r);
	MemoryContextDelete(tmp);
	CloseTransientFile(lock);
	return true;
}

/* the lines from where the cache ends into the cache */
static void
cache_read(LogReader *r, LogDamage *damage, MemoryContext tmp)
{
	while (log_read_line(r))
	{
		bool		whole;

		CHECK_FOR_INTERRUPTS();
		whole = r->complete && cache_line(r->line.data, r->line.len, tmp);
		if (!r->complete)
		{
			/* a torn last line: reported, and read again next time */
			log_damage_add(damage, r);
			break;
		}
		if (!whole)
		{
			log_damage_add(&cache.damage, r);
			log_damage_add(damage, r);
		}
		cache.end = log_reader_end(r);
		cache.lineno = r->lineno;
	}
}

/* indicina.journal_read(kind text): every entry of that kind, oldest first */
PG_FUNCTION_INFO_V1(indicina_journal_read);
Datum
indicina_journal_read(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	LogDamage	damage = {0};
	int			i;

	/* a set of jsonb, not of rows: the caller's one-column descriptor */
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	PG_TRY();
	{
		if (!cache_refresh(&damage))
			cache_reset();
	}
	PG_CATCH();
	{
		/* a read cut short (a cancel) leaves a cache that is not to be trusted */
		if (cache.cxt)
			MemoryContextDelete(cache.cxt);
		memset(&cache, 0, sizeof(cache));
		PG_RE_THROW();
	}
	PG_END_TRY();
	for (i = 0; i < cache.nentries; i++)
	{
		JournalEntry *e = &cache.entries[i];

		if (strcmp(e->kind, kind) == 0)
		{
			Datum		value = JsonbPGetDatum(e->doc);
			bool		isnull = false;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		}
	}
	/* once per statement: a view reads the journal more than once */
	if (damage.count > 0 &&
		(warned_at != GetCurrentStatementStartTimestamp() || warned_count != damage.count))
	{
		warned_at = GetCurrentStatementStartTimestamp();
		warned_count = damage.count;
		log_damage_report(&damage, JOURNAL_FILE);
	}
	return (Datum) 0;
}
