/*-------------------------------------------------------------------------
 *
 * destination_s3.c
 *		The S3 destination: a delivery's files as objects under a server's
 *		s3://bucket/prefix root (key: prefix/base/relpath).
 *
 * An object appears under its key only when it is committed, as a file
 * of the directory destination does: a file smaller than
 * indicina.s3_part_size is one PUT at commit; a larger one becomes a
 * multipart upload, started when its first part is full, each part sent
 * with its Content-MD5 as it fills (memory holds one part per open file),
 * and completed at commit.  An upload neither completed nor aborted when
 * the destination's memory goes (an error, a cancel) is aborted by a
 * memory-context callback, so no incomplete upload is left behind; a
 * killed backend may leave one (a bucket lifecycle rule for incomplete
 * uploads collects those).  Every request is retried as the S3 client
 * retries (src/location/s3.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "foreign/foreign.h"

#include "fdw/fdw.h"
#include "location/s3.h"
#include "ship/destination.h"

typedef struct S3Destination
{
	Destination pub;
	S3Client   *client;
	char	   *folder;			/* the root's prefix as a folder: "" or ending in '/' */
} S3Destination;

typedef struct S3File
{
	DestFile	pub;
	char	   *key;
	char	   *buf;			/* the part being filled */
	size_t		len;
	size_t		cap;
	S3Upload   *upload;			/* NULL until the first part is full */
	MemoryContextCallback cleanup;
} S3File;

static DestFile *s3_open(Destination *dest, const char *relpath);
static void s3_write(DestFile *file, const void *data, size_t len);
static int64 s3_commit(DestFile *file);
static void s3_abort(DestFile *file);
static char *s3_url(Destination *dest, const char *relpath);

static const DestinationOps s3_ops = {
	.open = s3_open,
	.write = s3_write,
	.commit = s3_commit,
	.abort = s3_abort,
	.url = s3_url,
};

/*
 * The delivery base (relative, checked by the caller) under server's
 * s3:// root: DEST_NEW, no object may be under it yet (the others do not
 * check: an S3 prefix needs no creating).
 */
Destination *
destination_s3_create(ForeignServer *server, const char *root, const char *base, const char *url_prefix,
					  DestinationMode mode, MemoryContext mcxt)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	S3Destination *d = palloc0(sizeof(S3Destination));

	d->pub.ops = &s3_ops;
	d->pub.mcxt = mcxt;
	d->pub.root = pstrdup(root);
	d->pub.base = pstrdup(base);
	d->pub.url_prefix = url_prefix ? pstrdup(url_prefix) : NULL;
	/* the client's curl handle goes with mcxt, after the files' callbacks have run */
	d->client = csv_server_s3_client(server);
	d->folder = s3_client_folder(d->client);
	if (mode == DEST_NEW)
	{
		char	   *prefix = psprintf("%s%s/", d->folder, base);

		if (s3_list(d->client, prefix) != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("delivery \"s3://%s/%s\" already exists", s3_client_bucket(d->client), prefix),
					 errhint("Another database may unload to the same root and prefix: give each its own prefix.")));
	}
	MemoryContextSwitchTo(old);
	return &d->pub;
}

/* a file neither committed nor aborted (an error, a cancel): its upload aborted */
static void
s3_file_cleanup(void *arg)
{
	S3File	   *f = (S3File *) arg;

	if (f->pub.done)
		return;
	f->pub.done = true;
	if (f->upload && !s3_upload_abort_quietly(f->upload))
		ereport(WARNING,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not abort the multipart upload of %s", s3_upload_url(f->upload)),
				 errhint("ListMultipartUploads shows it; a bucket lifecycle rule removes incomplete uploads.")));
}

static DestFile *
s3_open(Destination *dest, const char *relpath)
{
	S3Destination *d = (S3Destination *) dest;
	MemoryContext old = MemoryContextSwitchTo(dest->mcxt);
	S3File	   *f = palloc0(sizeof(S3File));

	destination_check_name("file name", relpath);
	f->pub.dest = dest;
	f->pub.relpath = pstrdup(relpath);
	f->key = psprintf("%s%s/%s", d->folder, dest->base, relpath);
	if (s3_head(d->client, f->key) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("object \"s3://%s/%s\" already exists", s3_client_bucket(d->client), f->key)));
	f->cleanup.func = s3_file_cleanup;
	f->cleanup.arg = f;
	MemoryContextRegisterResetCallback(dest->mcxt, &f->cleanup);
	MemoryContextSwitchTo(old);
	return &f->pub;
}

/* the full part sent, starting the upload with the first */
static void
send_part(S3File *f)
{
	S3Destination *d = (S3Destination *) f->pub.dest;

	if (f->upload == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(f->pub.dest->mcxt);

		f->upload = s3_upload_begin(d->client, f->key);
		MemoryContextSwitchTo(old);
	}
	s3_upload_part(f->upload, f->buf, f->len);
	f->len = 0;
}

static void
s3_write(DestFile *file, const void *data, size_t len)
{
	S3File	   *f = (S3File *) file;
	const char *p = data;

	if (f->buf == NULL)
	{
		f->cap = (size_t) s3_part_size_kb * 1024;
		f->buf = MemoryContextAllocHuge(file->dest->mcxt, f->cap);
	}
	while (len > 0)
	{
		size_t		n = Min(len, f->cap - f->len);

		memcpy(f->buf + f->len, p, n);
		f->len += n;
		p += n;
		len -= n;
		f->pub.bytes += n;
		if (f->len == f->cap)
			send_part(f);
	}
}

static int64
s3_commit(DestFile *file)
{
	S3File	   *f = (S3File *) file;
	S3Destination *d = (S3Destination *) file->dest;

	if (f->upload == NULL)
		s3_put(d->client, f->key, f->buf, f->len);
	else
	{
		if (f->len > 0)
			send_part(f);
		s3_upload_complete(f->upload);
	}
	f->pub.done = true;
	if (f->buf)
		pfree(f->buf);
	f->buf = NULL;
	return f->pub.bytes;
}

static void
s3_abort(DestFile *file)
{
	S3File	   *f = (S3File *) file;

	if (f->pub.done)
		return;
	if (f->upload)
		s3_upload_abort(f->upload);
	f->pub.done = true;
	if (f->buf)
		pfree(f->buf);
	f->buf = NULL;
}

static char *
s3_url(Destination *dest, const char *relpath)
{
	S3Destination *d = (S3Destination *) dest;

	if (dest->url_prefix)
	{
		size_t		n = strlen(dest->url_prefix);

		return psprintf("%s%s%s/%s", dest->url_prefix, n > 0 && dest->url_prefix[n - 1] == '/' ? "" : "/",
						dest->base, relpath);
	}
	return psprintf("s3://%s/%s%s/%s", s3_client_bucket(d->client), d->folder, dest->base, relpath);
}
