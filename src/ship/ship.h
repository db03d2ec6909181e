/*-------------------------------------------------------------------------
 *
 * ship.h
 *		Declarations shared by the modules of the unload (src/ship/): the
 *		part writer (part_writer.c), the formats it writes (csv_format.c),
 *		the SQL entry points and the plan of an unload (unload.c) and the
 *		processes that carry it out (unload_workers.c).
 *
 * A part writer turns rows into parts of about equal size under one
 * table's directory of a delivery: a format encodes each row into bytes,
 * the writer compresses them (gzip, zstd or none), hashes what it writes
 * (SHA-256) and hands it to the destination.  The format is a table of
 * callbacks, so a columnar format can join CSV without touching the rest.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_SHIP_H
#define INDICINA_SHIP_H

#include "postgres.h"

#include <zlib.h>
#include <zstd.h>

#include "common/cryptohash.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "port/atomics.h"
#include "utils/timestamp.h"

#include "ship/destination.h"

/* in unload.c: its settings */
extern int	indicina_redshift_slices;
extern int	indicina_unload_workers;
extern int	indicina_unload_worker_rows;
extern void ship_init(void);

typedef enum ShipCompression
{
	SHIP_GZIP,
	SHIP_ZSTD,
	SHIP_NONE
} ShipCompression;

/* how a column's values are checked and written */
typedef enum ShipKind
{
	SHIP_TEXT,					/* text, varchar, char: at most 65535 bytes */
	SHIP_NUMERIC,				/* at most 38 digits */
	SHIP_DATE,					/* -infinity and infinity as sentinel dates */
	SHIP_TIMESTAMP,				/* likewise, at midnight */
	SHIP_BOOL,
	SHIP_PLAIN					/* integers and floats: their output as it is */
} ShipKind;

#define SHIP_MAX_VARCHAR 65535	/* Redshift's VARCHAR, in bytes */
#define SHIP_MAX_DIGITS 38		/* Redshift's DECIMAL precision */
#define SHIP_SENTINEL_PAST "0001-01-01"		/* -infinity */
#define SHIP_SENTINEL_FUTURE "9999-12-31"	/* infinity */
#define SHIP_NULL "\\N"			/* the text of NULL (Redshift's default NULL AS) */

typedef struct ShipColumn
{
	char	   *name;
	Oid			typid;
	ShipKind	kind;
	FmgrInfo	out;			/* the type's output function */
	int			max_bytes;		/* of a text column: the longest value written */
} ShipColumn;

typedef struct PartWriter PartWriter;

/* a format of parts (CSV now): encodes rows into the writer's buffer */
typedef struct PartFormat
{
	const char *name;			/* unload.json's format.type */
	const char *extension;		/* before the compression's */
	void		(*add_row) (PartWriter *w, Datum *values, bool *nulls);
	void		(*end_part) (PartWriter *w);	/* a footer, if the format has one */
} PartFormat;

/* one committed part */
typedef struct PartInfo
{
	int			share;			/* of a table cut into shares, or -1 */
	int			number;			/* within the share */
	char	   *relpath;		/* under the delivery */
	char	   *url;			/* what the manifest lists */
	int64		rows;
	int64		bytes;			/* on disk */
	int64		raw_bytes;		/* before compression */
	char		sha256[65];		/* of the file as written, hex */
} PartInfo;

struct PartWriter
{
	MemoryContext mcxt;			/* the writer's, and the compressors' */
	MemoryContext rowcxt;		/* reset after every row */
	Destination *dest;
	const char *table;			/* parts go under <table>/ */
	const PartFormat *format;
	ShipCompression compression;
	int			ncolumns;
	ShipColumn *columns;
	int			nkeys;			/* the row key, for errors */
	int		   *keys;			/* column indexes */
	Datum	   *cur_values;		/* the row being written, for errors */
	bool	   *cur_nulls;

	int64		total_rows;		/* to ship, counted first */
	int64		rows_per_part;
	int64		max_part_size;	/* compressed bytes */
	int64		rows_done;
	int			next_number;
	int			share;			/* of a table cut into shares, or -1 */

	/* the current part */
	DestFile   *file;
	int			number;
	int64		part_rows;
	int64		part_raw;
	StringInfoData raw;			/* formatted, not compressed yet */
	char	   *out;			/* compressed, not written yet */
	size_t		out_size;
	z_stream	zs;
	bool		zs_live;
	ZSTD_CCtx  *zc;				/* malloc'ed: freed by a context callback */
	MemoryContextCallback zc_free;
	pg_cryptohash_ctx *hash;

	List	   *parts;			/* PartInfo, committed, in order */
};

/* in part_writer.c */
extern PartWriter *part_writer_create(Destination *dest, const char *table, const PartFormat *format,
									  ShipCompression compression, int ncolumns, ShipColumn *columns,
									  int nkeys, int *keys, int64 total_rows, int nparts,
									  int64 max_part_size, int share, MemoryContext mcxt);
extern void part_writer_add_row(PartWriter *w, Datum *values, bool *nulls);
extern void part_writer_finish(PartWriter *w, bool empty_part);
extern void part_writer_emit(PartWriter *w, const char *data, size_t len);
extern const char *ship_compression_extension(ShipCompression c);
extern void ship_column_init(ShipColumn *col, const char *table, const char *name, Oid typid);
extern char *ship_row_key(PartWriter *w);

/* in csv_format.c */
extern const PartFormat csv_format;

/*
 * An unload's work (unload.c plans it, unload_workers.c carries it out):
 * the tables of a delivery, each cut into shares, ranges of its heap
 * blocks that one process reads and writes into parts of its own.
 */
typedef struct UnloadTable
{
	char	   *name;
	char	   *query;			/* SELECT ... WHERE ...: a share appends its block range */
	char	   *keys;			/* the row key, comma-separated, for errors */
	int64		rows;			/* to ship */
} UnloadTable;

typedef struct UnloadShare
{
	int			table;			/* index into the job's tables */
	int			index;			/* within the table, or -1 when it is the table's only share */
	int64		first_block;	/* -1: from the table's start */
	int64		end_block;		/* -1: to its end */
	int64		rows;			/* counted under the unload's snapshot */
	int			nparts;			/* at least */
} UnloadShare;

typedef struct UnloadJob
{
	char	   *server;
	char	   *base;			/* the delivery, under the server's root */
	char	   *url_prefix;		/* or NULL */
	ShipCompression compression;
	int64		max_part_size;
	bool		ship_empty;		/* a table without rows gets an empty part */
	int			ntables;
	UnloadTable *tables;
	int			nshares;
	UnloadShare *shares;		/* in the order they are taken */
} UnloadJob;

/* what the writers of one table wrote */
typedef struct UnloadResult
{
	List	   *parts;			/* PartInfo, in order (share, number) */
	int			ncolumns;
	int		   *widths;			/* the longest value in bytes of each text column, -1 others */
	TimestampTz started;		/* of its first share */
	TimestampTz finished;		/* of its last */
} UnloadResult;

/* in unload_workers.c */
extern UnloadResult *unload_run(const UnloadJob *job, int workers, Destination *dest, int *processes);

#endif							/* INDICINA_SHIP_H */
