/*-------------------------------------------------------------------------
 *
 * ledger.c
 *		indicina.source_files(relation, hashes): the files an indicina_csv
 *		foreign table reads now (or the objects under its s3:// root), with
 *		size, modification time, ETag (S3) and SHA-256 of their bytes, for
 *		the pipeline's file ledger.
 *
 * Exactly-once loading keys on content, not on names: a file re-delivered
 * under another name has the same hash and is skipped; a corrected file
 * under the same name has a new one and replaces what its earlier version
 * loaded.  Hashing reads every byte, so the caller asks only for the files
 * whose (name, size, modification time) it has not seen: `only` limits the
 * hashing to those names.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "fdw/fdw.h"
#include "quality/rules.h"

#define HASH_CHUNK (1024 * 1024)

/*
 * The SHA-256 of a file's bytes, or of an S3 object's (read in ranged
 * GETs as a scan reads it: a second download of every object hashed).
 */
static char *
file_sha256(const CsvFile *f)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char	   *buf = palloc(HASH_CHUNK);
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);
	S3Reader   *s3 = f->s3 ? s3_reader_open(f->s3, f->path, f->size, f->etag) : NULL;
	int			fd = s3 ? -1 : csv_open_file(f);	/* the file resolved, not a link swapped in */
	ssize_t		n;
	int			i;

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256");
	while ((n = s3 ? s3_reader_read(s3, buf, HASH_CHUNK) : read(fd, buf, HASH_CHUNK)) > 0)
	{
		CHECK_FOR_INTERRUPTS();
		if (pg_cryptohash_update(ctx, (uint8 *) buf, n) < 0)
			elog(ERROR, "could not compute SHA-256 of \"%s\"", f->display);
	}
	if (n < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not read \"%s\": %m", f->display)));
	if (s3)
		s3_reader_close(s3);
	else
		CloseTransientFile(fd);
	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256 of \"%s\"", f->display);
	pg_cryptohash_free(ctx);
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	pfree(buf);
	return hex;
}

PG_FUNCTION_INFO_V1(indicina_source_files);
Datum
indicina_source_files(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	bool		hashes = PG_GETARG_BOOL(1);
	List	   *only = NIL;
	bool		hash_all = PG_ARGISNULL(2);
	CsvOptions	opts;
	ListCell   *lc;

	if (!hash_all)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					i;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		for (i = 0; i < n; i++)
			if (!nulls[i])
				only = lappend(only, TextDatumGetCString(elems[i]));
	}
	/* sizes and hashes of the files are for whoever may read their rows */
	rule_relation_aclcheck(relid);
	InitMaterializedSRF(fcinfo, 0);
	csv_get_options(relid, &opts);
	foreach(lc, csv_resolve_files(&opts, true))
	{
		CsvFile    *f = (CsvFile *) lfirst(lc);
		struct stat st;
		Datum		values[5];
		bool		nulls[5] = {0};
		bool		want = hashes && hash_all;
		ListCell   *ln;

		if (!f->s3 && stat(f->path, &st) != 0)
			continue;			/* gone since the glob: the next run sees it or not */
		foreach(ln, only)
			if (strcmp((char *) lfirst(ln), f->display) == 0)
				want = hashes;
		values[0] = CStringGetTextDatum(f->display);
		if (f->s3)
		{
			/*
			 * An object as listed: its time has only seconds, so the ETag
			 * tells a rewrite of the same size within the second
			 */
			values[1] = Int64GetDatum(f->size);
			values[2] = TimestampTzGetDatum(f->modified);
			values[4] = CStringGetTextDatum(f->etag ? f->etag : "");
		}
		else
		{
			values[1] = Int64GetDatum((int64) st.st_size);
			/*
			 * To the microsecond: a file corrected within the second of its
			 * last look, at the same size, must not pass for unchanged
			 */
			values[2] = TimestampTzGetDatum(time_t_to_timestamptz(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1000);
			nulls[4] = true;
		}
		if (want)
			values[3] = CStringGetTextDatum(file_sha256(f));
		else
			nulls[3] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
