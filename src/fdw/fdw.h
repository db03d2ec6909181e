/*-------------------------------------------------------------------------
 *
 * fdw.h
 *		Declarations shared by the modules of the indicina_csv foreign-data
 *		wrapper: options (options.c), the streaming CSV reader (reader.c),
 *		the per-column converters (convert.c), the reject log (rejects.c)
 *		and the FDW callbacks (fdw.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_FDW_H
#define INDICINA_FDW_H

#include "postgres.h"

#include <sys/types.h>

#include <csv.h>
#include <zlib.h>

#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/relcache.h"

#include "coerce/coerce.h"
#include "coerce/labels.h"
#include "location/s3.h"

/* ---- options (options.c) ---- */

typedef enum HeaderMode
{
	HEADER_FALSE,
	HEADER_TRUE,				/* map columns by header name, any order */
	HEADER_MATCH				/* header must name the columns, in order */
} HeaderMode;

typedef enum OnError
{
	ON_ERROR_STOP,
	ON_ERROR_SKIP,
	ON_ERROR_REJECT
} OnError;

typedef enum Compression
{
	COMPRESSION_AUTO,
	COMPRESSION_GZIP,
	COMPRESSION_NONE
} Compression;

typedef enum ColumnSource
{
	SOURCE_DATA,
	SOURCE_FILE,
	SOURCE_LINE,
	SOURCE_BYTE_OFFSET
} ColumnSource;

typedef struct CsvOptions
{
	char	   *root;			/* server: directory every file must be under, or s3://bucket/prefix */
	Oid			serverid;		/* whose user mapping holds the S3 keys */
	char	   *region;			/* server, S3 only: region, endpoint, addressing, ca_file */
	char	   *endpoint;
	S3Addressing addressing;
	char	   *ca_file;
	bool		credentials_env;	/* server, S3 only: keys from the server's AWS_* environment */
	char	   *filename;		/* table: one file, relative to root (or absolute inside it) */
	char	   *files;			/* table: glob or comma-separated list */
	HeaderMode	header;
	char		delimiter;
	char		quote;
	char		escape;
	char	   *null_string;	/* NULL: only empty unquoted fields are NULL */
	int			encoding;		/* PG encoding id of the files */
	Compression compression;
	int			skip_rows;		/* physical lines skipped before the header */
	bool		trim;
	bool		blank_as_null;
	bool		fill_missing;
	bool		invalid_utf8_replace;
	OnError		on_error;
	double		reject_limit;	/* < 0: none; else the percentage, or the count */
	int64		reject_limit_rows;	/* the count, exactly */
	bool		reject_limit_percent;
	bool		missing_columns_null;
} CsvOptions;

typedef struct CsvColumnOptions
{
	char	   *column_name;	/* header name to map from; NULL: attname */
	ColumnSource source;
	char	   *format;			/* NULL: the type's default */
} CsvColumnOptions;

typedef struct CsvFile
{
	char	   *path;			/* absolute, resolved */
	char	   *display;		/* relative to root, for records and messages */
	const char *root;			/* the server's root, resolved */
	int64		size;			/* bytes on disk */
	dev_t		dev;			/* what was resolved: the file opened must be it */
	ino_t		ino;
	S3Client   *s3;				/* an S3 object (path is its key), or NULL: a local file */
	char	   *etag;			/* S3: the object's ETag and time when listed */
	TimestampTz modified;
} CsvFile;

/* in options.c */
extern void csv_get_options(Oid foreigntableid, CsvOptions *opts);
extern void csv_get_column_options(Oid foreigntableid, int attnum, CsvColumnOptions *copts);
extern List *csv_resolve_files(const CsvOptions *opts, bool missing_ok);
extern bool csv_root_is_s3(const CsvOptions *opts);
extern char *csv_reject_limit_text(const CsvOptions *opts);
struct ForeignServer;
extern char *csv_server_root(struct ForeignServer *server);
extern S3Client *csv_server_s3_client(struct ForeignServer *server);
extern bool csv_path_is_under(const char *root, const char *path);

/* ---- column converters (convert.c) ---- */

typedef enum ConvKind
{
	CONV_TEXT,					/* text, varchar(n) */
	CONV_INT2,
	CONV_INT4,
	CONV_INT8,
	CONV_NUMERIC,
	CONV_FLOAT4,
	CONV_FLOAT8,
	CONV_DATE,
	CONV_TIMESTAMP,
	CONV_BOOL,
	CONV_LABEL,					/* text through a label domain */
	CONV_ID,					/* text through normalize_id */
	CONV_PHONE,					/* text through normalize_phone */
	CONV_GENERIC				/* the type's input function */
} ConvKind;

typedef struct ColumnConverter
{
	int			attnum;
	char	   *name;			/* the column's name, for records */
	ConvKind	kind;
	Oid			typid;
	int32		typmod;
	bool		lenient_number; /* format 'amount' */
	DateFormat	datefmt;
	LabelMap   *labels;
	char		country[4];
	FmgrInfo	infunc;
	Oid			ioparam;
	ScaledValue scaled;			/* numeric: the last value converted, as an integer */
} ColumnConverter;

/* in convert.c */
extern void converter_init(ColumnConverter *cv, Form_pg_attribute att, const CsvColumnOptions *copts,
						   MemoryContext mcxt);
extern bool converter_run(ColumnConverter *cv, const char *s, int len, Datum *out, CoerceError *err);
extern void converter_check_format(Oid typid, const char *format);
extern bool converter_is_generic(Oid typid);

/* ---- the streaming reader (reader.c) ---- */

#define RAW_LINE_MAX 1024		/* bytes of a rejected row's text kept */

typedef struct CsvReader
{
	const CsvOptions *opts;
	MemoryContext mcxt;
	bool		count_only;		/* no field text needed (count(*)) */
	bool		fast_path;		/* quote-free lines may skip libcsv (escape = quote) */

	/* the current file */
	CsvFile    *file;
	int			fd;				/* through fd.c */
	S3Reader   *s3;				/* or the S3 object being read */
	SubTransactionId fd_subid;	/* the subtransaction fd.c ties fd to */
	bool		fd_lost;		/* closed by fd.c at ROLLBACK TO SAVEPOINT */
	struct CsvReader *next_open;	/* readers with a file open (reader.c) */
	bool		gzip;			/* inflated block by block */
	z_stream	zs;
	bool		zs_live;
	unsigned char *zbuf;		/* compressed bytes read, not inflated yet */
	bool		z_in_eof;		/* all of the file read */
	bool		z_done;			/* the last member ended */
	int64		raw_read;		/* bytes read from the file */
	bool		at_file_start;

	/* read buffer and the physical line being assembled */
	char	   *buf;
	int			buf_len;
	int			buf_pos;
	int			nl_at;			/* the block's next LF and CR (buf_len: none; */
	int			cr_at;			/* before buf_pos: not searched yet) */
	bool		eof;
	StringInfoData line;		/* at most max_row_bytes of it */
	int64		line_bytes;		/* the whole line's */
	bool		line_ended;		/* by LF, CRLF or CR (not the end of the file) */
	bool		line_too_long;	/* past max_row_bytes: only its start kept */
	StringInfoData conv;		/* a converted or repaired copy of the line */
	StringInfoData esc;			/* the line with escapes rewritten for libcsv */
	int64		line_no;		/* physical lines started in this file */
	int64		line_offset;	/* byte offset of the current line */
	int64		offset;			/* byte offset of the next line */
	const char *cur;			/* the current line as fed (line or conv) */
	int			cur_len;
	int			pending;		/* bytes of cur fed so far */
	int			lines_to_skip;

	/* libcsv and the row being assembled */
	struct csv_parser parser;
	bool		parser_live;
	StringInfoData fields;		/* field bytes, one after another */
	int		   *field_off;
	int		   *field_len;		/* -1 for NULL */
	int			nfields;
	int			maxfields;
	bool		row_ready;
	bool		row_bad_utf8;
	bool		row_unterminated;
	bool		row_too_long;	/* given up after max_row_bytes */
	bool		row_line_too_long;	/* ... on one line with no line end before it */
	int64		max_row_bytes;
	int64		count_bytes;	/* count-only: the field bytes fields would hold */
	int64		row_line;
	int64		row_offset;
	StringInfoData raw;			/* the row's raw text, at most RAW_LINE_MAX bytes */
} CsvReader;

typedef enum ReadResult
{
	READ_ROW,					/* a row is in reader->fields */
	READ_END_OF_FILE
} ReadResult;

/* in reader.c */
extern void reader_init(CsvReader *r, const CsvOptions *opts, bool count_only, MemoryContext mcxt);
extern void reader_open(CsvReader *r, CsvFile *file);
extern ReadResult reader_next_row(CsvReader *r);
extern void reader_close(CsvReader *r);
extern int64 reader_file_progress(CsvReader *r);
extern int	csv_open_file(const CsvFile *file);

/* ---- the reject log (rejects.c) ---- */

typedef struct RejectRecord
{
	int64		scan_id;
	Oid			relid;			/* recorded with its schema-qualified name */
	const char *file;
	int64		line;
	int64		byte_offset;
	const char *column;			/* NULL when the whole row is at fault */
	const char *value;
	int			value_len;
	const char *raw;
	int			raw_len;
	const char *code;
	const char *message;
} RejectRecord;

typedef struct RejectLog RejectLog;

/* in rejects.c */
extern void rejects_init(void);
extern RejectLog *reject_log_open(MemoryContext mcxt);
extern void reject_log_add(RejectLog *log, const RejectRecord *rec);
extern void reject_log_flush(RejectLog *log);
extern int64 reject_next_scan_id(void);

/* in fdw.c: the wrapper's settings */
extern int	indicina_max_row_size_kb;
extern void fdw_init(void);

/* in reader.c */
extern void reader_module_init(void);

/* in rejects.c: whether messages about rows may quote their values */
extern bool indicina_log_raw_rows;

/* in parallel_files.c: a survey's files shared among parallel workers */
extern Size parallel_files_size(List *files);
extern void parallel_files_init(void *coordinate, List *files);
extern void parallel_files_check(void *coordinate, List *files, const char *relname);
extern int	parallel_files_next(void *coordinate);
extern void parallel_files_add_counts(void *coordinate, int64 rows_read, int64 rows_rejected);
extern void parallel_files_counts(void *coordinate, int64 *rows_read, int64 *rows_rejected);

#endif							/* INDICINA_FDW_H */
