/*-------------------------------------------------------------------------
 *
 * append_log.h
 *		Append-only log files under the data directory (append_log.c),
 *		which the reject log and the run journal are.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_APPEND_LOG_H
#define INDICINA_APPEND_LOG_H

#include "postgres.h"

#include <sys/types.h>

#include "lib/stringinfo.h"

/* the directory, under the data directory, every log file is in */
#define LOG_DIR "pg_indicina"

extern void log_append(const char *file, const char *old_file, int64 max_bytes, StringInfo buf, bool quiet);

/* reading a log file line by line, a block at a time */
#define LOG_READ_BLOCK (64 * 1024)

typedef struct LogReader
{
	const char *path;
	int			fd;
	char	   *buf;
	int			len;
	int			pos;
	off_t		file_offset;	/* of buf[0] */
	off_t		offset;			/* of the line's first byte */
	int64		lineno;			/* counted from where reading started */
	bool		complete;		/* the line ended with a newline */
	StringInfoData line;
} LogReader;

#define LOG_DAMAGE_SHOWN 5
typedef struct LogDamage
{
	int64		count;
	int64		lineno[LOG_DAMAGE_SHOWN];
	int64		offset[LOG_DAMAGE_SHOWN];
} LogDamage;

extern bool log_reader_open(LogReader *r, const char *path, off_t start);
extern bool log_read_line(LogReader *r);
extern off_t log_reader_end(LogReader *r);
extern void log_reader_close(LogReader *r);
extern void log_damage_add(LogDamage *d, const LogReader *r);
extern void log_damage_report(const LogDamage *d, const char *path);
extern int	log_lock_file(const char *path, int op);

#endif							/* INDICINA_APPEND_LOG_H */
