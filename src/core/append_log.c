/*-------------------------------------------------------------------------
 *
 * append_log.c
 *		Append-only log files under the data directory, the reject log
 *		(fdw/rejects.c) and the run journal (quality/journal.c): whole lines
 *		appended in one write() under an exclusive flock, read back line by
 *		line under a shared one, damaged lines counted and reported.
 *
 * Both logs must survive the rollback of the transaction that wrote them
 * (PostgreSQL 15 has no autonomous transactions), so they are files, not
 * tables.  A writer that opened a file before another renamed it (a
 * rotation, a clear) checks after locking that it holds the file at the
 * path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/wait_event.h"

#include "core/append_log.h"

/* how often a lock is tried again, and how long an aborting writer tries */
#define LOCK_RETRY_MS 10
#define LOCK_QUIET_WAIT_MS 5000

/*
 * flock() that a cancel or a terminate can end: a blocking flock() is
 * restarted after a signal (SA_RESTART), so the lock is tried without
 * blocking, with a short sleep on the latch in between.  Quiet (an
 * aborting transaction, where interrupts are held) gives up after
 * LOCK_QUIET_WAIT_MS, or at once when the process is exiting.  False with
 * errno set when the lock was not taken.
 */
static bool
lock_fd(int fd, int op, bool quiet)
{
	int			waited = 0;

	for (;;)
	{
		if (flock(fd, op | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return false;
		if (!quiet)
			CHECK_FOR_INTERRUPTS();
		else if (proc_exit_inprogress || waited >= LOCK_QUIET_WAIT_MS)
		{
			errno = EWOULDBLOCK;
			return false;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, LOCK_RETRY_MS,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		waited += LOCK_RETRY_MS;
	}
}

/*
 * Opens path (creating it) and locks it, making sure the file locked is
 * still the one at path: a writer that opened it before another renamed it
 * (a rotation, a clear) would otherwise lock and write the renamed file.
 * Through fd.c, so an error or a cancel while waiting closes it.  -1 with
 * errno set on failure.
 */
static int
open_locked(const char *path, int flags, int op, bool quiet)
{
	for (;;)
	{
		int			fd = OpenTransientFile(path, flags | O_CREAT | PG_BINARY);
		struct stat fst,
					pst;
		int			save;

		if (fd < 0)
			return -1;
		if (!lock_fd(fd, op, quiet))
		{
			save = errno;
			CloseTransientFile(fd);
			errno = save;
			return -1;
		}
		if (fstat(fd, &fst) == 0 && stat(path, &pst) == 0 &&
			fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino)
			return fd;
		/* renamed or removed while we waited: lock what is at path now */
		CloseTransientFile(fd);
	}
}

/*
 * Appends buf to file (under LOG_DIR) in one write() under an
 * exclusive flock and empties buf.  With old_file set, a file past
 * max_bytes is renamed to old_file first.  Whole lines or nothing: a last
 * line without its newline (a crash mid-write) is ended first so the new
 * records do not run into it, and a short write is undone. 
 */
void
log_append(const char *file, const char *old_file, int64 max_bytes, StringInfo buf, bool quiet)
{
	int			fd;
	struct stat st;
	char		last;
	bool		torn;
	bool		ended;

	if (buf->len == 0)
		return;
	if (mkdir(LOG_DIR, S_IRWXU) != 0 && errno != EEXIST && !quiet)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create directory \"%s\": %m", LOG_DIR)));
	for (;;)
	{
		fd = open_locked(file, O_RDWR | O_APPEND, LOCK_EX, quiet);
		if (fd < 0)
		{
			if (!quiet)
				ereport(ERROR, (errcode_for_file_access(), errmsg("could not open and lock \"%s\": %m", file)));
			if (!proc_exit_inprogress)
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("could not write %d bytes of records to \"%s\": %m", buf->len, file)));
			resetStringInfo(buf);
			return;
		}
		if (fstat(fd, &st) != 0)
			st.st_size = 0;
		/* rotate under the lock; waiting writers see the rename and reopen */
		if (old_file && st.st_size > (off_t) max_bytes && rename(file, old_file) == 0)
		{
			CloseTransientFile(fd);
			continue;
		}
		break;
	}
	torn = st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
	ended = torn && write(fd, "\n", 1) == 1;
	if (torn != ended || write(fd, buf->data, buf->len) != buf->len)
	{
		int			save = errno;
		int			rc;

		/* a failed truncate leaves a torn line: the next append ends it */
		rc = ftruncate(fd, st.st_size + (ended ? 1 : 0));
		(void) rc;
		CloseTransientFile(fd);
		errno = save ? save : ENOSPC;
		if (!quiet)
			ereport(ERROR, (errcode_for_file_access(), errmsg("could not write \"%s\": %m", file)));
		resetStringInfo(buf);
		return;
	}
	CloseTransientFile(fd);
	resetStringInfo(buf);
}

/* ---- reading a log: whole lines, damaged ones counted ---- */

/*
 * Opens path for log_read_line.  False when it does not exist.  The file
 * goes through fd.c, so an error or a cancel mid-read closes it.
 */
bool
log_reader_open(LogReader *r, const char *path, off_t start)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (r->fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", path)));
	}
	r->buf = palloc(LOG_READ_BLOCK);
	r->file_offset = start;
	r->offset = start;
	initStringInfo(&r->line);
	return true;
}

/*
 * The next line into r->line (without its newline), its first byte's
 * offset in r->offset.  False at the end.  A last line without a newline
 * comes back with r->complete false: a torn write, to count as damaged.
 * Cancellable.
 */
bool
log_read_line(LogReader *r)
{
	r->offset = r->file_offset + r->pos;
	resetStringInfo(&r->line);
	for (;;)
	{
		char	   *nl;

		if (r->pos == r->len)
		{
			ssize_t		n;

			CHECK_FOR_INTERRUPTS();
			r->file_offset += r->len;
			r->pos = r->len = 0;
			n = pg_pread(r->fd, r->buf, LOG_READ_BLOCK, r->file_offset);
			if (n < 0)
				ereport(ERROR, (errcode_for_file_access(), errmsg("could not read \"%s\": %m", r->path)));
			if (n == 0)
			{
				r->complete = false;
				if (r->line.len == 0)
					return false;
				r->lineno++;
				return true;
			}
			r->len = (int) n;
		}
		nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		if (nl)
		{
			appendBinaryStringInfo(&r->line, r->buf + r->pos, nl - (r->buf + r->pos));
			r->pos = nl - r->buf + 1;
			r->complete = true;
			r->lineno++;
			return true;
		}
		appendBinaryStringInfo(&r->line, r->buf + r->pos, r->len - r->pos);
		r->pos = r->len;
	}
}

/* the offset just past the last line read */
off_t
log_reader_end(LogReader *r)
{
	return r->file_offset + r->pos;
}

void
log_reader_close(LogReader *r)
{
	CloseTransientFile(r->fd);
	pfree(r->buf);
	pfree(r->line.data);
}

/* one damaged line: kept for the WARNING that sums them up */
void
log_damage_add(LogDamage *d, const LogReader *r)
{
	if (d->count < LOG_DAMAGE_SHOWN)
	{
		d->lineno[d->count] = r->lineno;
		d->offset[d->count] = r->offset;
	}
	d->count++;
}

/*
 * A WARNING naming the file and the first damaged lines, so a reader sees
 * that the history it got has holes and where they are.
 */
void
log_damage_report(const LogDamage *d, const char *path)
{
	StringInfoData where;
	int			i;

	if (d->count == 0)
		return;
	initStringInfo(&where);
	for (i = 0; i < d->count && i < LOG_DAMAGE_SHOWN; i++)
		appendStringInfo(&where, "%sline %lld (byte offset %lld)", i ? ", " : "",
						 (long long) d->lineno[i], (long long) d->offset[i]);
	if (d->count > LOG_DAMAGE_SHOWN)
		appendStringInfo(&where, " and %lld more", (long long) (d->count - LOG_DAMAGE_SHOWN));
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg_plural("skipped %lld damaged line of \"%s\"", "skipped %lld damaged lines of \"%s\"",
						   d->count, (long long) d->count, path),
			 errdetail("Not a whole record: %s.", where.data)));
	pfree(where.data);
}

/*
 * Locks a log file (shared to read, exclusive to rewrite) and returns the
 * descriptor that holds the lock, to close with CloseTransientFile; -1
 * when there is no log directory yet.  While a reader holds the reject
 * log's lock nobody rotates or appends, so both generations read as one.
 */
int
log_lock_file(const char *path, int op)
{
	int			fd = open_locked(path, op == LOCK_SH ? O_RDONLY : O_RDWR, op, false);

	if (fd < 0)
	{
		if (errno == ENOENT)
			return -1;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open and lock \"%s\": %m", path)));
	}
	return fd;
}
