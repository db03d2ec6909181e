/*-------------------------------------------------------------------------
 *
 * reader_stubs.c
 *		Stand-ins for the backend functions src/fdw/reader.c calls, so the
 *		reader can be fuzzed in a standalone libFuzzer binary: allocations
 *		go to a list freed after each input, StringInfo is a plain growable
 *		buffer, ereport(ERROR) jumps back to the fuzz target, and UTF-8 is
 *		checked by a small validator of our own.  Written for the fuzzer.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <setjmp.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "location/s3.h"

sigjmp_buf	fuzz_error_jmp;
MemoryContext CurrentMemoryContext = NULL;
volatile sig_atomic_t InterruptPending = false;
volatile uint32 InterruptHoldoffCount = 0;
volatile uint32 CritSectionCount = 0;

void		fuzz_free_all(void);

static void **allocs;
static int	nallocs,
			maxallocs;
static MemoryContextCallback *callbacks[64];
static int	ncallbacks;

static void *
track(void *p)
{
	if (!p)
		abort();
	if (nallocs == maxallocs)
	{
		maxallocs = maxallocs ? maxallocs * 2 : 256;
		allocs = realloc(allocs, sizeof(void *) * maxallocs);
	}
	allocs[nallocs++] = p;
	return p;
}

void *
palloc(Size size)
{
	return track(malloc(size ? size : 1));
}

void *
palloc0(Size size)
{
	return track(calloc(1, size ? size : 1));
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return palloc(size);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return palloc0(size);
}

void *
repalloc(void *pointer, Size size)
{
	int			i;
	void	   *p = realloc(pointer, size);

	if (!p)
		abort();
	for (i = nallocs - 1; i >= 0; i--)
		if (allocs[i] == pointer)
		{
			allocs[i] = p;
			return p;
		}
	abort();
}

void
pfree(void *pointer)
{
	int			i;

	for (i = nallocs - 1; i >= 0; i--)
		if (allocs[i] == pointer)
		{
			allocs[i] = allocs[--nallocs];
			free(pointer);
			return;
		}
	abort();
}

void
MemoryContextRegisterResetCallback(MemoryContext context, MemoryContextCallback *cb)
{
	if (ncallbacks < 64)
		callbacks[ncallbacks++] = cb;
}

/* the end of an input: callbacks first (they close files), then the memory */
void
fuzz_free_all(void)
{
	while (ncallbacks > 0)
	{
		MemoryContextCallback *cb = callbacks[--ncallbacks];

		cb->func(cb->arg);
	}
	while (nallocs > 0)
		free(allocs[--nallocs]);
}

/* StringInfo */
void
initStringInfo(StringInfo str)
{
	str->maxlen = 1024;
	str->data = palloc(str->maxlen);
	resetStringInfo(str);
}

void
resetStringInfo(StringInfo str)
{
	str->data[0] = '\0';
	str->len = 0;
	str->cursor = 0;
}

void
enlargeStringInfo(StringInfo str, int needed)
{
	int			newlen;

	needed += str->len + 1;
	if (needed <= str->maxlen)
		return;
	newlen = 2 * str->maxlen;
	while (needed > newlen)
		newlen *= 2;
	str->data = repalloc(str->data, newlen);
	str->maxlen = newlen;
}

void
appendBinaryStringInfo(StringInfo str, const char *data, int datalen)
{
	enlargeStringInfo(str, datalen);
	memcpy(str->data + str->len, data, datalen);
	str->len += datalen;
	str->data[str->len] = '\0';
}

void
appendStringInfoChar(StringInfo str, char ch)
{
	appendBinaryStringInfo(str, &ch, 1);
}

void
appendStringInfo(StringInfo str, const char *fmt,...)
{
	char		buf[64];
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	appendBinaryStringInfo(str, buf, n);
}

/* errors: an ERROR jumps back to the fuzz target */
static int	pending_level;

bool
errstart(int elevel, const char *domain)
{
	pending_level = elevel;
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (pending_level >= ERROR)
		siglongjmp(fuzz_error_jmp, 1);
}

/* the parts of a report: nothing is kept, the fuzz target sees no message */
#define REPORT_PART_STUB(name, params) \
	int name params { return 0; }

REPORT_PART_STUB(errcode, (int sqlerrcode))
REPORT_PART_STUB(errcode_for_file_access, (void))
REPORT_PART_STUB(errmsg, (const char *fmt,...))
REPORT_PART_STUB(errmsg_internal, (const char *fmt,...))
REPORT_PART_STUB(errhint, (const char *fmt,...))
REPORT_PART_STUB(errdetail, (const char *fmt,...))

void
ProcessInterrupts(void)
{
}

/* encodings: the database is UTF-8 */
int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

/* length of the valid UTF-8 prefix (no overlongs, surrogates or > U+10FFFF) */
int
pg_encoding_verifymbstr(int encoding, const char *mbstr, int len)
{
	const unsigned char *s = (const unsigned char *) mbstr;
	int			i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		int			n,
					k;
		unsigned int cp;

		if (c == 0)
			return i;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return i;
		for (k = 1; k <= n; k++)
		{
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n + 1;
	}
	return i;
}

/* bytes of the longest whole-character prefix of at most limit bytes */
int
pg_mbcliplen(const char *mbstr, int len, int limit)
{
	int			n = limit < len ? limit : len;

	while (n > 0 && n < len && (((unsigned char) mbstr[n]) & 0xC0) == 0x80)
		n--;
	return n;
}

char *
pg_any_to_server(const char *s, int len, int encoding)
{
	abort();					/* LATIN1 and WIN1252 are converted by reader.c itself */
}

/* small, so the fuzzer reaches the row-size cap often */
int			indicina_max_row_size_kb = 1;

/* LATIN1 is the only other encoding fuzzed: one byte a character */
int
pg_encoding_mbcliplen(int encoding, const char *mbstr, int len, int limit)
{
	return limit < len ? limit : len;
}

/* files: plain open(), the fuzz target's file is never swapped */
int
OpenTransientFile(const char *fileName, int fileFlags)
{
	return open(fileName, fileFlags, 0);
}

int
CloseTransientFile(int fd)
{
	return close(fd);
}

bool
IsTransactionState(void)
{
	return true;
}

SubTransactionId
GetCurrentSubTransactionId(void)
{
	return TopSubTransactionId;
}

void
RegisterSubXactCallback(SubXactCallback callback, void *arg)
{
}

void *
MemoryContextAllocExtended(MemoryContext context, Size size, int flags)
{
	return (flags & MCXT_ALLOC_ZERO) ? palloc0(size) : palloc(size);
}

/* the fuzzer reads local files only: the S3 source is never opened */
S3Reader *
s3_reader_open(S3Client *client, const char *key, int64 size, const char *etag)
{
	abort();
}

ssize_t
s3_reader_read(S3Reader *reader, char *buf, size_t len)
{
	abort();
}

void
s3_reader_rewind(S3Reader *reader)
{
	abort();
}

void
s3_reader_close(S3Reader *reader)
{
	abort();
}
