/*-------------------------------------------------------------------------
 *
 * destination.h
 *		Where an unload writes: a small interface of callbacks, so that the
 *		part writer and the unload never know whether the files go into a
 *		directory (destination_dir.c) or an S3 bucket (destination_s3.c).
 *
 * A destination is opened for one delivery: a base (the server's root and
 * a relative directory under it).  Every file is written under a temporary
 * name and appears under its own name only when committed, durably (fsync,
 * rename, fsync of the directory for a directory root); until then, and
 * after an error or cancel, nothing of it is visible under its name.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_SHIP_DESTINATION_H
#define INDICINA_SHIP_DESTINATION_H

#include "postgres.h"

typedef struct Destination Destination;
typedef struct DestFile DestFile;

typedef struct DestinationOps
{
	/* a new file at relpath (under the delivery), written under a temporary name */
	DestFile   *(*open) (Destination *dest, const char *relpath);
	void		(*write) (DestFile *file, const void *data, size_t len);
	/* the file durable under its own name; returns its size */
	int64		(*commit) (DestFile *file);
	/* the temporary file closed and removed */
	void		(*abort) (DestFile *file);
	/* what the file at relpath is called once committed: an absolute path or a URL */
	char	   *(*url) (Destination *dest, const char *relpath);
} DestinationOps;

struct Destination
{
	const DestinationOps *ops;
	MemoryContext mcxt;			/* where the destination and its files live */
	char	   *root;			/* the server's root, resolved */
	char	   *base;			/* the delivery's directory, relative to root */
	char	   *url_prefix;		/* stands for root in URLs (NULL: paths) */
};

/* what every file has; a destination's own file embeds it first */
struct DestFile
{
	Destination *dest;
	char	   *relpath;		/* under the delivery */
	int64		bytes;			/* written so far */
	bool		done;			/* committed or aborted */
};

/* how a delivery's base is opened */
typedef enum DestinationMode
{
	DEST_NEW,					/* by the unload: must not exist yet (it comes with its first file) */
	DEST_EXISTING,				/* after the parts: must exist */
	DEST_JOINED					/* by a parallel worker of the unload that opened it new */
} DestinationMode;

/* in destination.c */
extern Destination *destination_open(const char *servername, const char *base, const char *url_prefix,
									 DestinationMode mode, MemoryContext mcxt);
extern void destination_check_server(const char *servername);
extern char *destination_write_whole(Destination *dest, const char *relpath, const char *data, size_t len);
extern void destination_check_name(const char *what, const char *relpath);

/* in destination_dir.c */
extern Destination *destination_dir_create(const char *root, const char *base, const char *url_prefix,
										   DestinationMode mode, MemoryContext mcxt);

/* in destination_s3.c */
struct ForeignServer;
extern Destination *destination_s3_create(struct ForeignServer *server, const char *root, const char *base,
										  const char *url_prefix, DestinationMode mode, MemoryContext mcxt);

#endif							/* INDICINA_SHIP_DESTINATION_H */
