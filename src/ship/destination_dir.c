/*-------------------------------------------------------------------------
 *
 * destination_dir.c
 *		The directory destination: a delivery's files in a directory
 *		under a server's root.
 *
 * A file is written as ".<name>.tmp" beside its final name, through fd.c
 * (an error or cancel closes it), and committed by fsync and a durable
 * rename (fd.c's durable_rename fsyncs the directory too).  A file neither
 * committed nor aborted when the destination's memory goes (an error, a
 * cancel) is removed by a memory-context callback, so a failed unload
 * leaves no temporary file behind; a killed backend may leave one, under
 * its temporary name, never under its own.  Every directory is checked,
 * once created, to resolve under the root: a symbolic link planted in the
 * root cannot send a delivery elsewhere.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "storage/fd.h"

#include "fdw/fdw.h"
#include "ship/destination.h"

typedef struct DirFile
{
	DestFile	pub;
	int			fd;				/* -1 once closed */
	char	   *tmp_path;
	char	   *final_path;
	MemoryContextCallback cleanup;
} DirFile;

static DestFile *dir_open(Destination *dest, const char *relpath);
static void dir_write(DestFile *file, const void *data, size_t len);
static int64 dir_commit(DestFile *file);
static void dir_abort(DestFile *file);
static char *dir_url(Destination *dest, const char *relpath);

static const DestinationOps dir_ops = {
	.open = dir_open,
	.write = dir_write,
	.commit = dir_commit,
	.abort = dir_abort,
	.url = dir_url,
};

/* refuses a directory that does not resolve under root */
static void
check_under_root(const char *root, const char *path)
{
	char		resolved[PATH_MAX];

	if (realpath(path, resolved) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not resolve \"%s\": %m", path)));
	if (!csv_path_is_under(root, resolved))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("directory \"%s\" resolves outside the server's root directory", path),
				 errdetail("Symbolic links out of the root are refused.")));
}

/*
 * Creates the directories of relpath (checked) under root, each checked to
 * resolve under it; the last must be new when must_be_new.
 */
static void
make_dirs(const char *root, const char *relpath, bool must_be_new)
{
	char	   *path = psprintf("%s/%s", root, relpath);
	char	   *p = path + strlen(root) + 1;

	for (;;)
	{
		char	   *slash = strchr(p, '/');
		bool		last = slash == NULL;

		if (!last)
			*slash = '\0';
		if (MakePGDirectory(path) != 0)
		{
			if (errno != EEXIST)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not create directory \"%s\": %m", path)));
			if (last && must_be_new)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("delivery directory \"%s\" already exists", path),
						 errhint("Another database may unload to the same root and prefix: give each its own prefix.")));
		}
		check_under_root(root, path);
		if (last)
			break;
		*slash = '/';
		p = slash + 1;
	}
	pfree(path);
}

/*
 * The delivery base (relative to root, checked by the caller): DEST_NEW, it
 * must not exist (it is created with the first file); DEST_EXISTING, it
 * must; DEST_JOINED (a parallel worker), it may not exist yet, since the
 * first file of any process creates it, each directory checked as made.
 */
Destination *
destination_dir_create(const char *root, const char *base, const char *url_prefix, DestinationMode mode,
					   MemoryContext mcxt)
{
	Destination *dest = MemoryContextAllocZero(mcxt, sizeof(Destination));

	dest->ops = &dir_ops;
	dest->mcxt = mcxt;
	dest->root = MemoryContextStrdup(mcxt, root);
	dest->base = MemoryContextStrdup(mcxt, base);
	dest->url_prefix = url_prefix ? MemoryContextStrdup(mcxt, url_prefix) : NULL;
	if (mode == DEST_NEW)
	{
		struct stat st;
		char	   *path = psprintf("%s/%s", root, base);

		/* created with its first file: a delivery with nothing to ship leaves nothing */
		if (lstat(path, &st) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("delivery directory \"%s\" already exists", path),
					 errhint("Another database may unload to the same root and prefix: give each its own prefix.")));
	}
	else if (mode == DEST_EXISTING)
		check_under_root(root, psprintf("%s/%s", root, base));
	return dest;
}

/*
 * The temporary file of a file given up (aborted, or lost to an error or a
 * cancel) removed, with a warning if that fails: the delivery goes on
 * without it either way.
 */
static void
dir_remove_tmp(DirFile *f)
{
	if (unlink(f->tmp_path) != 0 && errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove temporary file \"%s\": %m", f->tmp_path)));
	f->pub.done = true;
}

/* a file neither committed nor aborted (an error, a cancel): removed */
static void
dir_file_cleanup(void *arg)
{
	DirFile    *f = (DirFile *) arg;

	if (f->pub.done)
		return;
	/* fd.c closed the descriptor at abort; only the name is left */
	dir_remove_tmp(f);
}

static DestFile *
dir_open(Destination *dest, const char *relpath)
{
	MemoryContext old = MemoryContextSwitchTo(dest->mcxt);
	DirFile    *f = palloc0(sizeof(DirFile));
	char	   *rel = pstrdup(relpath);
	char	   *slash;
	char	   *dir;
	char	   *name;
	struct stat st;

	destination_check_name("file name", relpath);
	slash = strrchr(rel, '/');
	if (slash)
	{
		*slash = '\0';
		make_dirs(dest->root, psprintf("%s/%s", dest->base, rel), false);
		dir = psprintf("%s/%s/%s", dest->root, dest->base, rel);
		name = slash + 1;
	}
	else
	{
		make_dirs(dest->root, dest->base, false);
		dir = psprintf("%s/%s", dest->root, dest->base);
		name = rel;
	}
	f->pub.dest = dest;
	f->pub.relpath = pstrdup(relpath);
	f->final_path = psprintf("%s/%s", dir, name);
	f->tmp_path = psprintf("%s/.%s.tmp", dir, name);
	if (lstat(f->final_path, &st) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("file \"%s\" already exists", f->final_path)));
	f->fd = OpenTransientFilePerm(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, pg_file_create_mode);
	if (f->fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", f->tmp_path)));
	f->cleanup.func = dir_file_cleanup;
	f->cleanup.arg = f;
	MemoryContextRegisterResetCallback(dest->mcxt, &f->cleanup);
	MemoryContextSwitchTo(old);
	return &f->pub;
}

static void
dir_write(DestFile *file, const void *data, size_t len)
{
	DirFile    *f = (DirFile *) file;
	const char *p = data;

	while (len > 0)
	{
		ssize_t		n = write(f->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", f->tmp_path)));
		}
		p += n;
		len -= n;
		f->pub.bytes += n;
	}
}

static int64
dir_commit(DestFile *file)
{
	DirFile    *f = (DirFile *) file;

	if (pg_fsync(f->fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", f->tmp_path)));
	if (CloseTransientFile(f->fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", f->tmp_path)));
	f->fd = -1;
	/* the file and its directory durable under the final name */
	durable_rename(f->tmp_path, f->final_path, ERROR);
	f->pub.done = true;
	return f->pub.bytes;
}

static void
dir_abort(DestFile *file)
{
	DirFile    *f = (DirFile *) file;

	if (f->pub.done)
		return;
	if (f->fd >= 0)
		CloseTransientFile(f->fd);
	f->fd = -1;
	dir_remove_tmp(f);
}

static char *
dir_url(Destination *dest, const char *relpath)
{
	if (dest->url_prefix)
	{
		size_t		n = strlen(dest->url_prefix);

		return psprintf("%s%s%s/%s", dest->url_prefix, n > 0 && dest->url_prefix[n - 1] == '/' ? "" : "/",
						dest->base, relpath);
	}
	return psprintf("%s/%s/%s", dest->root, dest->base, relpath);
}
