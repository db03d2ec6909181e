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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "fdw.h"

#define JOURNAL_FILE "pg_indicina/journal.log"

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

/* indicina.journal_read(kind text): every entry of that kind, oldest first */
PG_FUNCTION_INFO_V1(indicina_journal_read);
Datum
indicina_journal_read(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		prefix[NAMEDATALEN + 16];
	size_t		klen;
	FILE	   *f;
	StringInfoData line;
	int			c;

	/* a set of jsonb, not of rows: the caller's one-column descriptor */
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	snprintf(prefix, sizeof(prefix), "%s\t%u\t", kind, MyDatabaseId);
	klen = strlen(prefix);
	f = AllocateFile(JOURNAL_FILE, "r");
	if (f == NULL)
	{
		if (errno == ENOENT)
			return (Datum) 0;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", JOURNAL_FILE)));
	}
	initStringInfo(&line);
	for (;;)
	{
		resetStringInfo(&line);
		while ((c = getc(f)) != EOF && c != '\n')
			appendStringInfoChar(&line, (char) c);
		if (line.len == 0 && c == EOF)
			break;
		/* a line cut short by a crash has no newline: skip it */
		if (c == '\n' && (size_t) line.len > klen && strncmp(line.data, prefix, klen) == 0)
		{
			Datum		value = DirectFunctionCall1(jsonb_in, CStringGetDatum(line.data + klen));
			bool		isnull = false;

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		}
		if (c == EOF)
			break;
	}
	FreeFile(f);
	return (Datum) 0;
}
