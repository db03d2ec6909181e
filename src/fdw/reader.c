/*-------------------------------------------------------------------------
 *
 * reader.c
 *		The streaming CSV reader of indicina_csv: plain or gzip files, read
 *		in 64 kB blocks, split into physical lines, fed to libcsv one line at
 *		a time, so every row knows the physical line and byte offset it
 *		starts at and the raw text it came from.
 *
 * Memory stays flat: one block, the current line and the current row.
 * Files are opened through fd.c, which closes them at abort; libcsv and
 * zlib (inflating blocks read here, no gzFile) allocate through palloc in
 * the scan's context, so an error or a cancel in the middle of a file
 * leaks nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mb/pg_wchar.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "fdw/fdw.h"

#define READ_BLOCK (64 * 1024)

/*
 * libcsv's allocations go to the scan's memory context.  libcsv passes no
 * argument to its allocator, so the context is a static, set before every
 * call into libcsv (csv_use): another scan may have run, and its memory
 * gone, since this one last called.  A buffer libcsv already has is grown
 * by repalloc, in the context it was allocated in.
 */
static MemoryContext csv_alloc_context;

static inline void
csv_use(CsvReader *r)
{
	csv_alloc_context = r->mcxt;
}

static void *
csv_realloc(void *ptr, size_t size)
{
	if (ptr == NULL)
		return MemoryContextAlloc(csv_alloc_context, size);
	return repalloc(ptr, size);
}

static void
csv_free_func(void *ptr)
{
	if (ptr)
		pfree(ptr);
}

/* libcsv trims spaces and tabs around unquoted fields unless told none are spaces */
static int
csv_no_space(unsigned char c)
{
	return 0;
}

static int
csv_is_space(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static void
on_field(void *s, size_t len, void *data)
{
	CsvReader  *r = (CsvReader *) data;

	if (r->nfields == r->maxfields)
	{
		r->maxfields *= 2;
		r->field_off = repalloc(r->field_off, sizeof(int) * r->maxfields);
		r->field_len = repalloc(r->field_len, sizeof(int) * r->maxfields);
	}
	if (s == NULL)
		r->field_len[r->nfields] = -1;	/* empty and unquoted: NULL */
	else if (r->count_only)
	{
		/* what fields would hold, so max_row_size gives the row up at the same place */
		r->count_bytes += len;
		r->field_len[r->nfields] = 0;
	}
	else
	{
		if (len > MaxAllocSize / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("field too long in \"%s\" line %lld", r->file->display, (long long) r->row_line)));
		r->field_off[r->nfields] = r->fields.len;
		r->field_len[r->nfields] = (int) len;
		appendBinaryStringInfo(&r->fields, s, (int) len);
	}
	r->nfields++;
}

static void
on_row(int c, void *data)
{
	((CsvReader *) data)->row_ready = true;
}

/*
 * The readers with a file open.  fd.c ties a transient file to the
 * subtransaction that opened it and closes it when that one aborts, but a
 * cursor outlives ROLLBACK TO SAVEPOINT: its reader must learn its file is
 * gone, so it neither reads a dead (or reused) descriptor nor closes it.
 */
static CsvReader *open_readers = NULL;

static void
forget_open_reader(CsvReader *r)
{
	CsvReader **p;

	for (p = &open_readers; *p != NULL; p = &(*p)->next_open)
	{
		if (*p == r)
		{
			*p = r->next_open;
			break;
		}
	}
	r->next_open = NULL;
}

/* as fd.c does for its files: closed with an aborting subtransaction, the parent's at commit */
static void
reader_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	CsvReader **p = &open_readers;

	while (*p != NULL)
	{
		CsvReader  *r = *p;

		if (r->fd_subid != mySubid)
		{
			p = &r->next_open;
			continue;
		}
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			r->fd_subid = parentSubid;
		else if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			r->fd = -1;
			r->fd_lost = true;
			*p = r->next_open;
			r->next_open = NULL;
			continue;
		}
		p = &r->next_open;
	}
}

void
reader_module_init(void)
{
	RegisterSubXactCallback(reader_subxact_callback, NULL);
}

/*
 * The file source: the bytes of a local file (read(2) on a descriptor of
 * fd.c) or of an S3 object (ranged GETs, src/location/s3.c); everything
 * after it, gzip included, is the same for both.
 */
static ssize_t
source_read(CsvReader *r, void *buf, size_t len)
{
	if (r->s3)
		return s3_reader_read(r->s3, buf, len);
	return read(r->fd, buf, len);
}

/* back to the first byte (after the gzip magic number was looked at) */
static bool
source_rewind(CsvReader *r)
{
	if (r->s3)
	{
		s3_reader_rewind(r->s3);
		return true;
	}
	return lseek(r->fd, 0, SEEK_SET) == 0;
}

static void
close_stream(CsvReader *r)
{
	if (r->zs_live)
	{
		inflateEnd(&r->zs);
		r->zs_live = false;
	}
	r->gzip = false;
	if (r->s3)
	{
		s3_reader_close(r->s3);
		r->s3 = NULL;
	}
	forget_open_reader(r);
	if (r->fd >= 0)
	{
		CloseTransientFile(r->fd);
		r->fd = -1;
	}
}

/*
 * Closes the file if the scan's memory goes away without reader_close.
 * Only in a live transaction: at an abort fd.c has closed it already, and
 * the number may be another file's by now.
 */
static void
reader_reset_callback(void *arg)
{
	CsvReader  *r = (CsvReader *) arg;

	r->s3 = NULL;				/* its memory goes with the context */
	if (!IsTransactionState())
	{
		r->fd = -1;
		r->zs_live = false;		/* its memory goes with the context */
	}
	close_stream(r);
}

/* zlib allocates in the scan's memory: nothing to free after an error */
static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
	return MemoryContextAllocExtended((MemoryContext) opaque, (Size) items * size, MCXT_ALLOC_NO_OOM);
}

static void
z_free(voidpf opaque, voidpf address)
{
	pfree(address);
}

/*
 * Whether the file open on fd is, by the path the kernel opened, under
 * root (a resolved path).  Unknown counts as not.
 */
static bool
opened_under_root(int fd, const char *root)
{
	char		link[64];
	char		target[MAXPGPATH];
	ssize_t		n;
	size_t		rootlen = strlen(root);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0 || n >= (ssize_t) sizeof(target) - 1)
		return false;
	target[n] = '\0';
	return strncmp(target, root, rootlen) == 0 && target[rootlen] == '/';
}

/*
 * Opens a file of a table for reading, through fd.c (counted, and closed
 * at abort), and makes sure it is the file csv_resolve_files() resolved
 * under root: the last component must not be a symbolic link (O_NOFOLLOW),
 * the device and inode must be the ones seen then, and the path the kernel
 * opened (/proc/self/fd) must still be under root.  O_NOFOLLOW alone does
 * not cover a directory on the path swapped for a symbolic link, and the
 * inode alone does not cover a swap between realpath() and stat() at
 * resolution (the inode recorded is then the outside file's); the opened
 * path covers both.  O_NONBLOCK: a FIFO swapped in is refused, not waited on.
 */
int
csv_open_file(const CsvFile *file)
{
	struct stat st;
	int			fd = OpenTransientFile(file->path, O_RDONLY | PG_BINARY | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
	{
		if (errno == ELOOP)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("file \"%s\" was replaced by a symbolic link after it was resolved under the server's root directory",
							file->display),
					 errdetail("A symbolic link is followed only when the table's files are resolved, and only within root."),
					 errhint("Run the query again.")));
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open \"%s\" for reading: %m", file->display)));
	}
	if (fstat(fd, &st) != 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not stat \"%s\": %m", file->display)));
	}
	if (!S_ISREG(st.st_mode) || st.st_dev != file->dev || st.st_ino != file->ino)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("file \"%s\" changed after it was resolved under the server's root directory", file->display),
				 errdetail("The file opened is not the one resolved (another device or inode): it, or a directory on its path, was replaced."),
				 errhint("Run the query again.")));
	}
	if (!opened_under_root(fd, file->root))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("file \"%s\" changed after it was resolved under the server's root directory", file->display),
				 errdetail("The file opened is not under root: a directory on its path was replaced."),
				 errhint("Run the query again.")));
	}
	return fd;
}

void
reader_init(CsvReader *r, const CsvOptions *opts, bool count_only, MemoryContext mcxt)
{
	MemoryContextCallback *cb;
	MemoryContext old = MemoryContextSwitchTo(mcxt);

	memset(r, 0, sizeof(*r));
	r->opts = opts;
	r->mcxt = mcxt;
	r->count_only = count_only;
	r->fd = -1;
	r->buf = palloc(READ_BLOCK);
	initStringInfo(&r->line);
	initStringInfo(&r->conv);
	initStringInfo(&r->esc);
	initStringInfo(&r->fields);
	initStringInfo(&r->raw);
	r->maxfields = 16;
	r->field_off = palloc(sizeof(int) * r->maxfields);
	r->field_len = palloc(sizeof(int) * r->maxfields);
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = reader_reset_callback;
	cb->arg = r;
	MemoryContextRegisterResetCallback(mcxt, cb);
	MemoryContextSwitchTo(old);
}

/* a fresh libcsv parser with the table's options */
static void
start_parser(CsvReader *r)
{
	csv_use(r);
	if (r->parser_live)
		csv_free(&r->parser);
	if (csv_init(&r->parser, CSV_EMPTY_IS_NULL) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory initialising the CSV parser")));
	r->parser_live = true;
	csv_set_realloc_func(&r->parser, csv_realloc);
	csv_set_free_func(&r->parser, csv_free_func);
	csv_set_delim(&r->parser, (unsigned char) r->opts->delimiter);
	csv_set_quote(&r->parser, (unsigned char) r->opts->quote);
	csv_set_space_func(&r->parser, r->opts->trim ? csv_is_space : csv_no_space);
}

void
reader_open(CsvReader *r, CsvFile *file)
{
	unsigned char magic[2] = {0, 0};

	close_stream(r);
	r->file = file;
	r->fd_lost = false;
	if (file->s3)
		r->s3 = s3_reader_open(file->s3, file->path, file->size, file->etag);
	else
	{
		r->fd = csv_open_file(file);
		r->fd_subid = GetCurrentSubTransactionId();
		r->next_open = open_readers;
		open_readers = r;
	}
	r->raw_read = 0;
	if (r->opts->compression != COMPRESSION_NONE)
	{
		if (source_read(r, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
			r->gzip = true;
		else if (r->opts->compression == COMPRESSION_GZIP)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("\"%s\" is not gzip-compressed", file->display),
					 errhint("Set compression 'auto' to read plain and gzip files alike.")));
		if (!source_rewind(r))
			ereport(ERROR, (errcode_for_file_access(), errmsg("could not seek in \"%s\": %m", file->display)));
	}
	if (r->gzip)
	{
		if (r->zbuf == NULL)
			r->zbuf = MemoryContextAlloc(r->mcxt, READ_BLOCK);
		memset(&r->zs, 0, sizeof(r->zs));
		r->zs.zalloc = z_alloc;
		r->zs.zfree = z_free;
		r->zs.opaque = (voidpf) r->mcxt;
		/* 15 + 16: a gzip wrapper, any window size */
		if (inflateInit2(&r->zs, 15 + 16) != Z_OK)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory opening \"%s\"", file->display)));
		r->zs_live = true;
		r->z_in_eof = r->z_done = false;
	}

	r->buf_len = r->buf_pos = 0;
	r->nl_at = r->cr_at = -1;
	r->eof = false;
	r->at_file_start = true;
	r->line_no = 0;
	r->offset = 0;
	r->lines_to_skip = r->opts->skip_rows;
	r->cur_len = r->pending = 0;
	r->fast_path = r->opts->escape == r->opts->quote;
	r->max_row_bytes = (int64) indicina_max_row_size_kb * 1024;

	start_parser(r);
}

/* bytes of the current file consumed so far (compressed bytes for gzip) */
int64
reader_file_progress(CsvReader *r)
{
	if (r->gzip)
		return r->raw_read - r->zs.avail_in;
	return r->offset;
}

static void
inflate_error(CsvReader *r, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("could not decompress \"%s\" near line %lld: %s",
					r->file->display, (long long) r->line_no + 1, msg)));
}

/* more compressed bytes after what is left in zbuf; false at the end of the file */
static bool
read_compressed(CsvReader *r)
{
	int			keep = r->zs.avail_in;
	ssize_t		n;

	if (r->z_in_eof)
		return false;
	if (keep > 0)
		memmove(r->zbuf, r->zs.next_in, keep);
	n = source_read(r, r->zbuf + keep, READ_BLOCK - keep);
	if (n < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not read \"%s\": %m", r->file->display)));
	r->raw_read += n;
	r->zs.next_in = (Bytef *) r->zbuf;
	r->zs.avail_in = keep + n;
	if (n == 0)
		r->z_in_eof = true;
	return n > 0;
}

/*
 * Inflates the next block of a gzip file into r->buf: members one after
 * another are one stream, and bytes after a member that do not start
 * another are ignored, as gzread() does.  Returns the bytes inflated, 0 at
 * the end.
 */
static int
inflate_block(CsvReader *r)
{
	z_stream   *zs = &r->zs;

	zs->next_out = (Bytef *) r->buf;
	zs->avail_out = READ_BLOCK;
	while (zs->avail_out == READ_BLOCK && !r->z_done)
	{
		int			rc;

		if (zs->avail_in == 0 && !read_compressed(r))
			inflate_error(r, "unexpected end of file");
		rc = inflate(zs, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
		{
			/* another member? its magic bytes, maybe in the next read */
			while (zs->avail_in < 2 && read_compressed(r))
				;
			if (zs->avail_in >= 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b)
			{
				if (inflateReset(zs) != Z_OK)
					inflate_error(r, zs->msg ? zs->msg : "could not start the next member");
			}
			else
				r->z_done = true;
		}
		else if (rc == Z_MEM_ERROR)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory decompressing \"%s\"", r->file->display)));
		else if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs->avail_in == 0))
			inflate_error(r, zs->msg ? zs->msg : "corrupt stream");
	}
	return READ_BLOCK - zs->avail_out;
}

static bool
fill_buffer(CsvReader *r)
{
	int			n;

	CHECK_FOR_INTERRUPTS();
	if (r->gzip)
		n = inflate_block(r);
	else
	{
		n = source_read(r, r->buf, READ_BLOCK);
		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read \"%s\": %m", r->file->display)));
	}
	r->buf_len = n;
	r->buf_pos = 0;
	r->nl_at = r->cr_at = -1;
	if (n == 0)
		r->eof = true;
	return n > 0;
}

/*
 * Appends n bytes of the current physical line to r->line, keeping at most
 * r->max_row_bytes of it: past that the line is only counted
 * (r->line_bytes) and flagged, so no line, however long, is held whole.
 */
static inline void
line_append(CsvReader *r, const char *s, int n)
{
	r->line_bytes += n;
	if (unlikely(r->line.len + (int64) n > r->max_row_bytes))
	{
		r->line_too_long = true;
		n = (int) Max(r->max_row_bytes - r->line.len, 0);
	}
	if (n > 0)
		appendBinaryStringInfo(&r->line, s, n);
}

/*
 * Collects the next physical line into r->line, with its line end: LF,
 * CRLF or a lone CR, whichever comes first.  A CR or LF inside a quoted
 * field ends a physical line too; the line goes to libcsv with it, so the
 * field keeps it.  The next LF and the next CR of the block are searched
 * once each and remembered, so LF files pay one search for a CR per block.
 * Returns false at the end of the file.
 */
static bool
next_line(CsvReader *r)
{
	resetStringInfo(&r->line);
	r->line_bytes = 0;
	r->line_too_long = false;
	r->line_ended = false;
	for (;;)
	{
		int			pos,
					end,
					n;
		bool		cr;

		if (r->buf_pos >= r->buf_len && (r->eof || !fill_buffer(r)))
			return r->line_bytes > 0;
		pos = r->buf_pos;
		if (r->nl_at < pos)
		{
			char	   *p = memchr(r->buf + pos, '\n', r->buf_len - pos);

			r->nl_at = p ? (int) (p - r->buf) : r->buf_len;
		}
		if (r->cr_at < pos)
		{
			char	   *p = memchr(r->buf + pos, '\r', r->buf_len - pos);

			r->cr_at = p ? (int) (p - r->buf) : r->buf_len;
		}
		end = Min(r->nl_at, r->cr_at);
		if (end >= r->buf_len)
		{
			line_append(r, r->buf + pos, r->buf_len - pos);
			r->buf_pos = r->buf_len;
			continue;
		}
		n = end - pos + 1;
		cr = r->buf[end] == '\r';
		line_append(r, r->buf + pos, n);
		r->buf_pos += n;
		r->line_ended = true;
		if (cr)
		{
			/* CRLF is one line end, even with the LF in the next block */
			if (r->buf_pos >= r->buf_len && !r->eof)
				fill_buffer(r);
			if (r->buf_pos < r->buf_len && r->buf[r->buf_pos] == '\n')
			{
				line_append(r, "\n", 1);
				r->buf_pos++;
			}
		}
		return true;
	}
}

/* replaces each invalid UTF-8 sequence by U+FFFD into r->conv */
static void
repair_utf8(CsvReader *r, const char *s, int len)
{
	resetStringInfo(&r->conv);
	while (len > 0)
	{
		int			ok = pg_encoding_verifymbstr(PG_UTF8, s, len);

		appendBinaryStringInfo(&r->conv, s, ok);
		s += ok;
		len -= ok;
		if (len > 0)
		{
			appendBinaryStringInfo(&r->conv, "\xEF\xBF\xBD", 3);
			s++;
			len--;
		}
	}
}

/* Windows-1252's 0x80-0x9F, as Unicode code points (0: undefined) */
static const uint16 win1252_high[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
};

/*
 * LATIN1 or WIN1252 to UTF-8 into r->conv, never failing: an undefined
 * WIN1252 byte becomes U+FFFD, and so does a NUL, which also flags the row
 * as the UTF-8 check does (a reject unless invalid_utf8 is 'replace').  Other conversions go through PostgreSQL's.
 */
static void
convert_line(CsvReader *r, const char *s, int len)
{
	int			i;

	resetStringInfo(&r->conv);
	if (GetDatabaseEncoding() == PG_UTF8 && (r->opts->encoding == PG_LATIN1 || r->opts->encoding == PG_WIN1252))
	{
		for (i = 0; i < len; i++)
		{
			unsigned char c = (unsigned char) s[i];
			unsigned int cp = c;

			if (c == 0)
			{
				/* no text datum may hold a NUL: flagged, as UTF-8 verification flags it */
				r->row_bad_utf8 = true;
				appendBinaryStringInfo(&r->conv, "\xEF\xBF\xBD", 3);
				continue;
			}
			if (c < 0x80)
			{
				appendStringInfoCharMacro(&r->conv, (char) c);
				continue;
			}
			if (r->opts->encoding == PG_WIN1252 && c < 0xA0)
				cp = win1252_high[c - 0x80] ? win1252_high[c - 0x80] : 0xFFFD;
			if (cp < 0x800)
			{
				appendStringInfoCharMacro(&r->conv, (char) (0xC0 | (cp >> 6)));
				appendStringInfoCharMacro(&r->conv, (char) (0x80 | (cp & 0x3F)));
			}
			else
			{
				appendStringInfoCharMacro(&r->conv, (char) (0xE0 | (cp >> 12)));
				appendStringInfoCharMacro(&r->conv, (char) (0x80 | ((cp >> 6) & 0x3F)));
				appendStringInfoCharMacro(&r->conv, (char) (0x80 | (cp & 0x3F)));
			}
		}
	}
	else
	{
		char	   *c = pg_any_to_server(s, len, r->opts->encoding);

		appendBinaryStringInfo(&r->conv, c, strlen(c));
	}
}

/*
 * Feeds the rest of the current line, from *consumed, to libcsv.  A line
 * has at most one line end, its last bytes, so at most one row ends in
 * it.  Returns true when a row is complete, with *consumed at the line's
 * end.
 */
static bool
feed(CsvReader *r, const char *s, int len, int *consumed)
{
	int			start = *consumed;

	csv_use(r);
	if (csv_parse(&r->parser, s + start, len - start, on_field, on_row, r) != (size_t) (len - start))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("CSV parser failed in \"%s\" line %lld: %s", r->file->display,
						(long long) r->line_no, csv_strerror(csv_error(&r->parser)))));
	*consumed = len;
	return r->row_ready;
}

static void
begin_row(CsvReader *r, int64 offset)
{
	r->nfields = 0;
	resetStringInfo(&r->fields);
	r->count_bytes = 0;
	resetStringInfo(&r->raw);
	r->row_ready = false;
	r->row_bad_utf8 = false;
	r->row_unterminated = false;
	r->row_too_long = false;
	r->row_line_too_long = false;
	r->row_line = r->line_no;
	r->row_offset = offset;
}

static void
keep_raw(CsvReader *r, const char *s, int len)
{
	int			room = RAW_LINE_MAX - r->raw.len;

	if (room > 0)
		appendBinaryStringInfo(&r->raw, s, len <= room ? len : pg_mbcliplen(s, len, room));
}

/* libcsv's parser states (csv.h keeps them private): between rows, inside a field */
#define PSTATE_ROW_NOT_BEGUN 0
#define PSTATE_FIELD_BEGUN 2

/*
 * The fast path for a whole line with no quote character, between rows:
 * split on the delimiter with memchr, with libcsv's rules for unquoted
 * fields (an empty field is NULL; with trim, spaces and tabs around a field
 * go and a field of only those is NULL; a blank line, or with trim a line of
 * only spaces and tabs, is no row).  test/fuzz/fuzz_reader checks that the
 * two paths agree.  Most lines
 * of a drop take this path; anything quoted goes to libcsv.
 * Returns -1 when the line is not for this path, else whether a row came.
 */
static int
split_plain_line(CsvReader *r)
{
	const char *s = r->cur + r->pending;
	int			len = r->cur_len - r->pending;
	int			end = len;
	const char *p,
			   *stop;
	char		delim = r->opts->delimiter;

	if (memchr(s, r->opts->quote, len) != NULL)
		return -1;
	/* the line end: LF, CRLF or CR, and no other (next_line split there) */
	if (end > 0 && s[end - 1] == '\n')
		end--;
	if (end > 0 && s[end - 1] == '\r')
		end--;
	r->pending = r->cur_len;
	if (r->opts->trim)
	{
		/* with trim, libcsv never begins a row on spaces and tabs alone */
		int			i = 0;

		while (i < end && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == end)
			return 0;
	}
	if (end == 0)
		return 0;				/* a blank line */

	p = s;
	stop = s + end;
	for (;;)
	{
		const char *q = memchr(p, delim, stop - p);
		const char *fe = q ? q : stop;
		const char *fs = p;

		if (r->opts->trim)
		{
			while (fs < fe && (*fs == ' ' || *fs == '\t'))
				fs++;
			while (fe > fs && (fe[-1] == ' ' || fe[-1] == '\t'))
				fe--;
		}
		on_field(fe > fs ? (void *) fs : NULL, fe - fs, r);
		if (!q)
			break;
		p = q + 1;
	}
	r->row_ready = true;
	return 1;
}

/*
 * Feeds the rest of the current line (from r->pending) until a row ends or
 * the line is used up.  Returns true when a row is complete.
 */
static bool
feed_pending(CsvReader *r)
{
	/* libcsv is between rows exactly when its state is ROW_NOT_BEGUN */
	bool		between_rows = r->parser.pstate == PSTATE_ROW_NOT_BEGUN;

	/* a fresh line's row was begun by the caller, before its checks */
	if (between_rows && r->pending > 0)
		begin_row(r, r->line_offset + r->pending);
	/* the text as converted (or repaired), so it is valid in the database encoding */
	keep_raw(r, r->cur + r->pending, r->cur_len - r->pending);
	if (between_rows && r->fast_path)
	{
		int			rc = split_plain_line(r);

		if (rc >= 0)
			return rc == 1;
	}
	return feed(r, r->cur, r->cur_len, &r->pending);
}

/*
 * A physical line longer than max_row_bytes: its row (the row it starts,
 * or the one it continues) is given up as too long, and the parser starts
 * afresh at the next line.  Only the line's first bytes were kept; the
 * first RAW_LINE_MAX of them, converted as a line is, are the row's raw
 * text.
 */
static ReadResult
give_up_long_line(CsvReader *r, const char *s, int len)
{
	if (r->parser.pstate == PSTATE_ROW_NOT_BEGUN)
		begin_row(r, r->line_offset);
	len = Min(len, RAW_LINE_MAX);
	if (r->opts->encoding != GetDatabaseEncoding())
	{
		bool		bad = r->row_bad_utf8;

		len = pg_encoding_mbcliplen(r->opts->encoding, s, len, len);
		convert_line(r, s, len);
		r->row_bad_utf8 = bad;
		s = r->conv.data;
		len = r->conv.len;
	}
	else if (r->opts->encoding == PG_UTF8 && pg_encoding_verifymbstr(PG_UTF8, s, len) != len)
	{
		repair_utf8(r, s, len);
		s = r->conv.data;
		len = r->conv.len;
	}
	keep_raw(r, s, len);
	start_parser(r);
	r->cur_len = r->pending = 0;
	r->row_too_long = true;
	r->row_line_too_long = true;
	r->row_ready = true;
	return READ_ROW;
}

/*
 * Reads up to the end of the next row.  The row's fields are in r->fields
 * (offsets r->field_off, lengths r->field_len, -1 for NULL), its position in
 * r->row_line / r->row_offset, its raw text in r->raw; r->row_bad_utf8 and
 * r->row_unterminated flag structural defects.
 */
ReadResult
reader_next_row(CsvReader *r)
{
	if (unlikely(r->fd_lost))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("file \"%s\" of the scan was closed by ROLLBACK TO SAVEPOINT", r->file->display),
				 errhint("Declare the cursor and fetch from it outside the savepoint, or run the query again.")));
	for (;;)
	{
		const char *s;
		int			len;

		/* a line that ended one row may hold the start of the next */
		if (r->pending < r->cur_len)
		{
			if (feed_pending(r))
				return READ_ROW;
			continue;
		}

		if (!next_line(r))
		{
			/* end of file: a last row without a newline, or an open quote */
			if (r->parser.pstate == PSTATE_ROW_NOT_BEGUN)
				return READ_END_OF_FILE;
			r->row_unterminated = r->parser.pstate == PSTATE_FIELD_BEGUN && r->parser.quoted;
			csv_use(r);
			csv_fini(&r->parser, on_field, on_row, r);
			r->row_ready = true;
			return READ_ROW;
		}
		r->line_no++;
		r->line_offset = r->offset;
		r->offset += r->line_bytes;
		s = r->line.data;
		len = r->line.len;

		if (r->at_file_start)
		{
			r->at_file_start = false;
			if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 && r->opts->encoding == PG_UTF8)
			{
				s += 3;
				len -= 3;
				r->line_offset += 3;
			}
		}
		if (r->lines_to_skip > 0)
		{
			r->lines_to_skip--;
			continue;
		}
		if (r->line_too_long)
			return give_up_long_line(r, s, len);

		if (r->parser.pstate == PSTATE_ROW_NOT_BEGUN)
			begin_row(r, r->line_offset);

		/* encoding: convert, or check UTF-8 (fast for ASCII) */
		if (r->opts->encoding != GetDatabaseEncoding())
		{
			convert_line(r, s, len);
			s = r->conv.data;
			len = r->conv.len;
		}
		else if (r->opts->encoding == PG_UTF8 && pg_encoding_verifymbstr(PG_UTF8, s, len) != len)
		{
			r->row_bad_utf8 = true;
			repair_utf8(r, s, len);
			s = r->conv.data;
			len = r->conv.len;
		}
		/*
		 * libcsv knows only doubled quotes: with another escape character,
		 * rewrite escape+quote as a doubled quote and escape+escape as one
		 * escape before parsing.
		 */
		if (r->opts->escape != r->opts->quote && memchr(s, r->opts->escape, len) != NULL)
		{
			int			i;

			resetStringInfo(&r->esc);
			for (i = 0; i < len; i++)
			{
				if (s[i] == r->opts->escape && i + 1 < len &&
					(s[i + 1] == r->opts->quote || s[i + 1] == r->opts->escape))
				{
					appendStringInfoChar(&r->esc, s[i + 1] == r->opts->quote ? r->opts->quote : s[i + 1]);
					i++;
					if (s[i] != r->opts->quote)
						continue;
				}
				appendStringInfoChar(&r->esc, s[i]);
			}
			s = r->esc.data;
			len = r->esc.len;
		}
		r->cur = s;
		r->cur_len = len;
		r->pending = 0;
		if (feed_pending(r))
			return READ_ROW;

		/*
		 * A row still open after this many bytes is almost always a quote
		 * that was never closed: give it up as one reject and start afresh
		 * at the next line, so memory stays bounded and the rows it
		 * swallowed are read after all.
		 */
		if (r->fields.len + r->count_bytes + (int64) r->parser.entry_pos > r->max_row_bytes &&
			r->line_ended)		/* a last line without one ends at csv_fini */
		{
			start_parser(r);
			r->row_too_long = true;
			r->row_ready = true;
			return READ_ROW;
		}
	}
}

void
reader_close(CsvReader *r)
{
	close_stream(r);
	if (r->parser_live)
	{
		csv_use(r);
		csv_free(&r->parser);
		r->parser_live = false;
	}
	r->cur_len = r->pending = 0;
}
