/*-------------------------------------------------------------------------
 *
 * fuzz_reader.c
 *		libFuzzer target for the streaming CSV reader (src/fdw/reader.c), built
 *		standalone with backend stand-ins (reader_stubs.c).
 *
 * The input, written to a file, is read twice: once as the scan reads it
 * (quote-free lines split by the memchr fast path) and once with every line
 * through libcsv.  Both must give the same rows, field by field, with the
 * same line numbers; every field must lie inside the row buffer and every
 * raw text within its bound.  An ereport(ERROR) (say, a corrupt gzip
 * stream) is an expected outcome, not a failure.
 *
 *   make fuzz && test/fuzz/fuzz_reader -max_total_time=60 test/fuzz/corpus_reader
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <stdlib.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mb/pg_wchar.h"

#include "fdw/fdw.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* in reader_stubs.c */
extern sigjmp_buf fuzz_error_jmp;
extern void fuzz_free_all(void);

typedef struct Row
{
	int64		line;
	int			nfields;
	char	   *text;			/* fields, each as len:bytes, -1 for NULL */
	int			text_len;
	bool		bad_utf8;
	bool		unterminated;
} Row;

static char path[64];

/* reads every row of the file; returns the count, or -1 after an ereport(ERROR) */
static int
read_all(const CsvOptions *opts, bool fast_path, Row *rows, int maxrows)
{
	/* allocated, as a scan's is: the reset callback outlives this frame */
	CsvReader  *rp = palloc0(sizeof(CsvReader));
	static CsvFile file;
	int			n = 0;

#define r (*rp)
	struct stat st;

	file.path = file.display = path;
	if (stat(path, &st) != 0)
		abort();
	if (file.root == NULL)
	{
		/* the resolved directory of the file, as the server's root */
		static char root[PATH_MAX];
		char	   *slash;

		if (realpath(path, root) == NULL || (slash = strrchr(root, '/')) == NULL)
			abort();
		*slash = '\0';
		file.root = root;
	}
	file.dev = st.st_dev;		/* the file resolved, as csv_resolve_files records it */
	file.ino = st.st_ino;
	if (sigsetjmp(fuzz_error_jmp, 0) != 0)
		return -1;
	reader_init(&r, opts, false, CurrentMemoryContext);
	reader_open(&r, &file);
	if (!fast_path)
		r.fast_path = false;	/* every line through libcsv */
	while (n < maxrows && reader_next_row(&r) == READ_ROW)
	{
		Row		   *row = &rows[n++];
		StringInfoData s;
		int			i;

		if (r.raw.len > RAW_LINE_MAX || r.row_line < 1 || r.row_line > r.line_no)
			abort();
		initStringInfo(&s);
		for (i = 0; i < r.nfields; i++)
		{
			if (r.field_len[i] >= 0 &&
				(r.field_off[i] < 0 || r.field_off[i] + r.field_len[i] > r.fields.len))
				abort();
			appendStringInfo(&s, "%d:", r.field_len[i]);
			if (r.field_len[i] > 0)
				appendBinaryStringInfo(&s, r.fields.data + r.field_off[i], r.field_len[i]);
		}
		row->line = r.row_line;
		row->nfields = r.nfields;
		row->text = s.data;
		row->text_len = s.len;
		row->bad_utf8 = r.row_bad_utf8;
		row->unterminated = r.row_unterminated;
	}
	reader_close(&r);
#undef r
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Row	fast[512],
				slow[512];
	CsvOptions	opts;
	int			fd,
				nf,
				ns,
				i;
	uint8_t		sel;

	if (size < 1 || size > 4096)
		return 0;
	sel = data[0];
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz_reader.%d.csv", (int) getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t) (size - 1))
		abort();
	close(fd);

	memset(&opts, 0, sizeof(opts));
	opts.delimiter = (sel & 1) ? ';' : ',';
	opts.quote = (sel & 2) ? '\'' : '"';
	opts.escape = opts.quote;
	opts.encoding = (sel & 4) ? PG_LATIN1 : PG_UTF8;
	opts.compression = COMPRESSION_AUTO;
	opts.trim = (sel & 8) != 0;
	opts.skip_rows = (sel >> 4) & 3;

	nf = read_all(&opts, true, fast, lengthof(fast));
	ns = read_all(&opts, false, slow, lengthof(slow));
	if (nf != ns)
	{
		fprintf(stderr, "fast path gave %d rows, libcsv %d\n", nf, ns);
		abort();
	}
	for (i = 0; i < nf; i++)
		if (fast[i].line != slow[i].line || fast[i].nfields != slow[i].nfields ||
			fast[i].text_len != slow[i].text_len || memcmp(fast[i].text, slow[i].text, fast[i].text_len) != 0 ||
			fast[i].bad_utf8 != slow[i].bad_utf8 || fast[i].unterminated != slow[i].unterminated)
		{
			fprintf(stderr, "row %d differs: line %lld/%lld fields %d/%d [%.*s] vs [%.*s]\n", i,
					(long long) fast[i].line, (long long) slow[i].line, fast[i].nfields, slow[i].nfields,
					fast[i].text_len, fast[i].text, slow[i].text_len, slow[i].text);
			abort();
		}
	fuzz_free_all();
	return 0;
}
