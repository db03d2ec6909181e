/*-------------------------------------------------------------------------
 *
 * s3.h
 *		The S3 client of indicina (src/location/): s3:// locations, SigV4
 *		signing, listing, HEAD and ranged reads through libcurl, retried
 *		with exponential backoff and jitter.  Includes only PostgreSQL
 *		headers: the folders above (fdw/, ship/) call it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_LOCATION_S3_H
#define INDICINA_LOCATION_S3_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

typedef enum S3Addressing
{
	S3_ADDRESSING_AUTO,			/* virtual-hosted for AWS, path-style for an endpoint */
	S3_ADDRESSING_PATH,
	S3_ADDRESSING_VIRTUAL
} S3Addressing;

/* where a bucket is and how to reach it; the keys are never printed */
typedef struct S3Config
{
	char	   *bucket;
	char	   *prefix;			/* "" or a key prefix, no leading '/' */
	char	   *region;			/* default us-east-1 */
	char	   *endpoint;		/* NULL: AWS (https://s3.REGION.amazonaws.com) */
	S3Addressing addressing;
	char	   *ca_file;		/* NULL: the system's CA certificates */
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;	/* NULL: long-term keys */
} S3Config;

/* an object as a listing or HEAD shows it */
typedef struct S3Object
{
	char	   *key;			/* the whole key, prefix included */
	int64		size;
	char	   *etag;			/* as S3 gives it, quotes included */
	TimestampTz modified;
} S3Object;

typedef struct S3Client S3Client;
typedef struct S3Reader S3Reader;
typedef struct S3Upload S3Upload;

/* in sigv4.c */
extern void sigv4_uri_encode(StringInfo out, const char *s, bool keep_slash);
extern void sigv4_sha256_hex(const char *data, size_t len, char *hex);
extern char *sigv4_authorization(const char *method, const char *host, const char *canonical_uri,
								 const char *canonical_query, const char *amz_date,
								 const char *payload_hash, const char *session_token,
								 const char *region, const char *access_key_id,
								 const char *secret_access_key);

/* in s3.c */
extern int	s3_max_retries;
extern int	s3_retry_base_delay_ms;
extern int	s3_retry_max_delay_ms;
extern int	s3_timeout_s;
extern int	s3_read_size_kb;
extern int	s3_part_size_kb;

extern void s3_module_init(void);
extern bool s3_is_url(const char *root);
extern const char *s3_endpoint_problem(const char *endpoint);
extern bool s3_parse_url(const char *url, char **bucket, char **prefix, const char **problem);
extern S3Client *s3_client_create(const S3Config *config);
extern const char *s3_client_url(const S3Client *client);
extern List *s3_list(S3Client *client, const char *prefix);
extern S3Object *s3_head(S3Client *client, const char *key);
extern S3Reader *s3_reader_open(S3Client *client, const char *key, int64 size, const char *etag);
extern ssize_t s3_reader_read(S3Reader *reader, char *buf, size_t len);
extern void s3_reader_rewind(S3Reader *reader);
extern int64 s3_reader_requests(const S3Reader *reader);
extern void s3_reader_close(S3Reader *reader);
extern const char *s3_client_bucket(const S3Client *client);
extern char *s3_client_folder(const S3Client *client);
extern char *s3_put(S3Client *client, const char *key, const char *data, size_t len);
extern S3Upload *s3_upload_begin(S3Client *client, const char *key);
extern void s3_upload_part(S3Upload *upload, const char *data, size_t len);
extern int	s3_upload_parts(const S3Upload *upload);
extern char *s3_upload_complete(S3Upload *upload);
extern void s3_upload_abort(S3Upload *upload);
extern bool s3_upload_abort_quietly(S3Upload *upload);
extern const char *s3_upload_url(const S3Upload *upload);

#endif							/* INDICINA_LOCATION_S3_H */
