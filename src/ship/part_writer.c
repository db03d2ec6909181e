/*-------------------------------------------------------------------------
 *
 * part_writer.c
 *		Rows into parts of one table of a delivery: encoded by a format,
 *		compressed (gzip with zlib, zstd with libzstd, or none), hashed
 *		(SHA-256) and written through a destination.
 *
 * Parts are of about equal size: the rows to ship are counted first and
 * split evenly over nparts (at least one part per Redshift slice, so its
 * COPY loads in parallel); a part that reaches max_part_size compressed
 * bytes first is closed there, and the rest are then split evenly into
 * parts of at most as many rows.  Every part is committed (fsync, rename)
 * before the next is opened: a manifest written afterwards never points at
 * a part that is not whole.
 *
 * zlib allocates through palloc in the writer's context; libzstd's
 * context is malloc'ed and freed by a callback of the writer's context:
 * an error or cancel anywhere leaks nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "ship/ship.h"

#define RAW_FLUSH 65536			/* formatted bytes handed to the compressor at once */
#define GZIP_LEVEL 6			/* gzip -6, gzip's own default */
#define ZSTD_LEVEL 6			/* the first level below gzip -6 in size on the warehouse's CSV */

const char *
ship_compression_extension(ShipCompression c)
{
	return c == SHIP_GZIP ? ".gz" : c == SHIP_ZSTD ? ".zst" : "";
}

/* the types an unload ships, and how it writes each */
static const struct
{
	Oid			typid;
	ShipKind	kind;
}			ship_types[] = {
	{TEXTOID, SHIP_TEXT}, {VARCHAROID, SHIP_TEXT}, {BPCHAROID, SHIP_TEXT},
	{NUMERICOID, SHIP_NUMERIC},
	{DATEOID, SHIP_DATE},
	{TIMESTAMPOID, SHIP_TIMESTAMP}, {TIMESTAMPTZOID, SHIP_TIMESTAMP},
	{BOOLOID, SHIP_BOOL},
	{INT2OID, SHIP_PLAIN}, {INT4OID, SHIP_PLAIN}, {INT8OID, SHIP_PLAIN}, {FLOAT4OID, SHIP_PLAIN}, {FLOAT8OID, SHIP_PLAIN},
};

/*
 * How the column is written, or an error for a type Redshift is not given:
 * text types, integers, numeric, floats, boolean, date and timestamps.
 */
void
ship_column_init(ShipColumn *col, const char *table, const char *name, Oid typid)
{
	Oid			outfunc;
	bool		varlena;
	int			i;

	col->name = pstrdup(name);
	col->typid = typid;
	col->max_bytes = 0;
	for (i = 0; i < lengthof(ship_types) && ship_types[i].typid != typid; i++)
		;
	if (i == lengthof(ship_types))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" of table \"%s\" has type %s, which an unload does not map to Redshift",
						name, table, format_type_be(typid)),
				 errhint("Unloads ship text, integers, numeric, floats, boolean, date and timestamps.")));
	col->kind = ship_types[i].kind;
	getTypeOutputInfo(typid, &outfunc, &varlena);
	fmgr_info(outfunc, &col->out);
}

/* "(col, col) = (value, value)" of the row being written, for an error */
char *
ship_row_key(PartWriter *w)
{
	StringInfoData names;
	StringInfoData values;
	int			i;

	initStringInfo(&names);
	initStringInfo(&values);
	for (i = 0; i < w->nkeys; i++)
	{
		ShipColumn *c = &w->columns[w->keys[i]];

		appendStringInfo(&names, "%s%s", i ? ", " : "", c->name);
		appendStringInfo(&values, "%s%s", i ? ", " : "",
						 w->cur_nulls[w->keys[i]] ? "NULL" :
						 OutputFunctionCall(&c->out, w->cur_values[w->keys[i]]));
	}
	if (w->nkeys == 0)
		return psprintf("row %lld", (long long) w->rows_done + 1);
	return psprintf("(%s) = (%s)", names.data, values.data);
}

static void *
zlib_alloc(void *opaque, unsigned items, unsigned size)
{
	return MemoryContextAllocExtended((MemoryContext) opaque, (Size) items * size, MCXT_ALLOC_HUGE);
}

static void
zlib_free(void *opaque, void *address)
{
	pfree(address);
}

static void
zstd_context_free(void *arg)
{
	PartWriter *w = (PartWriter *) arg;

	if (w->zc)
		ZSTD_freeCCtx(w->zc);
	w->zc = NULL;
}

PartWriter *
part_writer_create(Destination *dest, const char *table, const PartFormat *format,
				   ShipCompression compression, int ncolumns, ShipColumn *columns,
				   int nkeys, int *keys, int64 total_rows, int nparts,
				   int64 max_part_size, int share, MemoryContext mcxt)
{
	MemoryContext cxt = AllocSetContextCreate(mcxt, "indicina part writer", ALLOCSET_DEFAULT_SIZES);
	PartWriter *w = MemoryContextAllocZero(cxt, sizeof(PartWriter));

	w->mcxt = cxt;
	w->rowcxt = AllocSetContextCreate(cxt, "indicina part writer row", ALLOCSET_DEFAULT_SIZES);
	w->dest = dest;
	w->table = MemoryContextStrdup(cxt, table);
	w->format = format;
	w->compression = compression;
	w->ncolumns = ncolumns;
	w->columns = columns;
	w->nkeys = nkeys;
	w->keys = keys;
	w->total_rows = total_rows;
	nparts = Max(nparts, 1);
	w->rows_per_part = Max((total_rows + nparts - 1) / nparts, 1);
	w->max_part_size = max_part_size;
	w->share = share;
	w->out_size = ZSTD_CStreamOutSize() > 65536 ? ZSTD_CStreamOutSize() : 65536;
	w->out = MemoryContextAlloc(cxt, w->out_size);
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		initStringInfo(&w->raw);
		MemoryContextSwitchTo(old);
	}
	if (compression == SHIP_ZSTD)
	{
		w->zc = ZSTD_createCCtx();
		if (w->zc == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		w->zc_free.func = zstd_context_free;
		w->zc_free.arg = w;
		MemoryContextRegisterResetCallback(cxt, &w->zc_free);
		ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
		ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
	}
	return w;
}

/* writes out bytes to the part's file and its hash */
static void
write_out(PartWriter *w, size_t len)
{
	if (len == 0)
		return;
	if (pg_cryptohash_update(w->hash, (uint8 *) w->out, len) < 0)
		elog(ERROR, "could not update the SHA-256 of a part");
	w->dest->ops->write(w->file, w->out, len);
}

/* compresses (or passes on) the formatted bytes; finish ends the stream */
static void
flush_raw(PartWriter *w, bool finish)
{
	const char *in = w->raw.data;
	size_t		len = w->raw.len;

	w->part_raw += len;
	if (w->compression == SHIP_NONE)
	{
		size_t		off = 0;

		while (off < len)
		{
			size_t		n = Min(len - off, w->out_size);

			memcpy(w->out, in + off, n);
			write_out(w, n);
			off += n;
		}
	}
	else if (w->compression == SHIP_GZIP)
	{
		int			rc;

		w->zs.next_in = (Bytef *) in;
		w->zs.avail_in = len;
		do
		{
			w->zs.next_out = (Bytef *) w->out;
			w->zs.avail_out = w->out_size;
			rc = deflate(&w->zs, finish ? Z_FINISH : Z_NO_FLUSH);
			if (rc == Z_STREAM_ERROR)
				elog(ERROR, "zlib deflate failed");
			write_out(w, w->out_size - w->zs.avail_out);
		} while (w->zs.avail_out == 0 || (finish && rc != Z_STREAM_END));
	}
	else
	{
		ZSTD_inBuffer zin = {in, len, 0};
		size_t		rest;

		do
		{
			ZSTD_outBuffer zout = {w->out, w->out_size, 0};

			rest = ZSTD_compressStream2(w->zc, &zout, &zin, finish ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(rest))
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("zstd compression failed: %s", ZSTD_getErrorName(rest))));
			write_out(w, zout.pos);
		} while (finish ? rest != 0 : zin.pos < zin.size);
	}
	resetStringInfo(&w->raw);
}

static void
start_part(PartWriter *w)
{
	char	   *relpath;

	w->number = w->next_number++;
	/* a share's parts are named after it: the names do not depend on which process wrote it */
	if (w->share >= 0)
		relpath = psprintf("%s/part_%04d_%04d%s%s", w->table, w->share, w->number, w->format->extension,
						   ship_compression_extension(w->compression));
	else
		relpath = psprintf("%s/part_%04d%s%s", w->table, w->number, w->format->extension,
						   ship_compression_extension(w->compression));
	w->file = w->dest->ops->open(w->dest, relpath);
	w->part_rows = 0;
	w->part_raw = 0;
	w->hash = pg_cryptohash_create(PG_SHA256);
	if (w->hash == NULL || pg_cryptohash_init(w->hash) < 0)
		elog(ERROR, "could not start a SHA-256");
	if (w->compression == SHIP_GZIP)
	{
		memset(&w->zs, 0, sizeof(w->zs));
		w->zs.zalloc = zlib_alloc;
		w->zs.zfree = zlib_free;
		w->zs.opaque = w->mcxt;
		/* 15 + 16: a gzip header and trailer, as gzip(1) writes */
		if (deflateInit2(&w->zs, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			elog(ERROR, "zlib deflateInit2 failed");
		w->zs_live = true;
	}
	else if (w->compression == SHIP_ZSTD)
		ZSTD_CCtx_reset(w->zc, ZSTD_reset_session_only);
}

static void
end_part(PartWriter *w)
{
	MemoryContext old = MemoryContextSwitchTo(w->mcxt);
	PartInfo   *p = palloc0(sizeof(PartInfo));
	uint8		digest[32];
	int			i;

	if (w->format->end_part)
		w->format->end_part(w);
	flush_raw(w, true);
	if (w->zs_live)
		deflateEnd(&w->zs);
	w->zs_live = false;
	if (pg_cryptohash_final(w->hash, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not finish a SHA-256");
	pg_cryptohash_free(w->hash);
	w->hash = NULL;
	for (i = 0; i < 32; i++)
		snprintf(p->sha256 + 2 * i, 3, "%02x", digest[i]);
	p->share = w->share;
	p->number = w->number;
	p->relpath = pstrdup(w->file->relpath);
	p->rows = w->part_rows;
	p->raw_bytes = w->part_raw;
	p->bytes = w->dest->ops->commit(w->file);
	p->url = w->dest->ops->url(w->dest, p->relpath);
	w->parts = lappend(w->parts, p);
	w->file = NULL;
	MemoryContextSwitchTo(old);
}

/* bytes of the current part so far, compressed, as near as the compressor tells */
static int64
part_size(PartWriter *w)
{
	return w->file->bytes + (w->compression == SHIP_NONE ? w->raw.len : 0);
}

/* the bytes a format encoded, into the part */
void
part_writer_emit(PartWriter *w, const char *data, size_t len)
{
	appendBinaryStringInfo(&w->raw, data, len);
}

void
part_writer_add_row(PartWriter *w, Datum *values, bool *nulls)
{
	MemoryContext old;
	bool		full;

	if (w->file == NULL)
		start_part(w);
	w->cur_values = values;
	w->cur_nulls = nulls;
	old = MemoryContextSwitchTo(w->rowcxt);
	w->format->add_row(w, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(w->rowcxt);
	w->part_rows++;
	w->rows_done++;
	if (w->raw.len >= Min(RAW_FLUSH, Max(w->max_part_size / 8, 256)))
		flush_raw(w, false);
	full = part_size(w) >= w->max_part_size;
	if (full || w->part_rows >= w->rows_per_part)
	{
		int64		rest = w->total_rows - w->rows_done;

		/*
		 * Filled before its share of rows: the rest in equal parts of at
		 * most as many rows as this one took.
		 */
		if (full && w->part_rows < w->rows_per_part && rest > 0)
		{
			int64		n = (rest + w->part_rows - 1) / w->part_rows;

			w->rows_per_part = Max((rest + n - 1) / n, 1);
		}
		end_part(w);
	}
}

/*
 * Ends the last part.  empty_part: a table with no rows still gets one
 * (empty) part, so a full delivery lists every table.
 */
void
part_writer_finish(PartWriter *w, bool empty_part)
{
	if (w->file == NULL && w->parts == NIL && empty_part)
		start_part(w);
	if (w->file != NULL)
		end_part(w);
}
