/*-------------------------------------------------------------------------
 *
 * s3.c
 *		The S3 client: s3://bucket/prefix locations, ListObjectsV2 (every
 *		page, through continuation tokens), HEAD, and objects read in
 *		ranged GETs that resume where a dropped connection stopped.
 *
 * HTTP and TLS are libcurl's (one easy handle per client, so connections
 * are kept alive between requests), S3's XML replies are read with
 * libxml2, requests are signed by sigv4.c.  Every request is retried on a
 * connection failure, a timeout, 500, 502, 503 (SlowDown), 504 and 429,
 * with exponential backoff and jitter, at most indicina.s3_max_retries
 * times; 403, 404 and other client errors are not retried and are
 * reported with S3's error code and request id.
 *
 * No PostgreSQL error is ever raised inside a libcurl callback: the
 * progress callback only asks libcurl to stop when an interrupt is
 * pending, and CHECK_FOR_INTERRUPTS() runs once libcurl has returned, so a
 * cancel stops a transfer within about a second.  The curl handle is
 * released by a reset callback of the memory context the client lives in,
 * so an error or a cancel leaks nothing.
 *
 * Secrets: the keys are only used to sign (sigv4.c); no message, detail
 * or hint here names them, and the URL carries no credential.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/base64.h"
#include "common/md5.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "location/s3.h"

int			s3_max_retries = 5;
int			s3_retry_base_delay_ms = 100;
int			s3_retry_max_delay_ms = 10000;
int			s3_timeout_s = 30;
int			s3_read_size_kb = 8192;
int			s3_part_size_kb = 8192;

#define S3_BODY_MAX (64 * 1024 * 1024)	/* a listing page or an error: far less */
#define S3_FIRST_RANGE (1024 * 1024)	/* the first range of an object, at most */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* a buffer grown without raising errors: libcurl's callbacks may not */
typedef struct S3Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} S3Buf;

/* one request and what came back */
typedef struct S3Call
{
	const char *method;			/* GET, HEAD */
	const char *key;			/* NULL: the bucket */
	const char *query;			/* canonical query string, "" for none */
	int64		range_from;		/* < 0: no Range */
	int64		range_to;
	const char *what;			/* "list s3://...", for messages */
	const char *send;			/* PUT/POST: the body sent (NULL: none) */
	size_t		send_len;
	const char *content_md5;	/* PUT: its Content-MD5 header, or NULL */
	long		also_ok;		/* a status taken as an answer, not a failure (0: none) */
	char	   *into;			/* a GET's body when 200/206: here, at most into_cap */
	size_t		into_cap;
	size_t		into_len;
	S3Buf		body;			/* any other body (a listing, an error) */
	CURL	   *curl;
	CURLcode	rc;
	long		status;
	char		errbuf[CURL_ERROR_SIZE];
	char	   *etag;			/* response headers kept */
	char	   *request_id;
	char	   *last_modified;
	int64		content_length;
	bool		prefetch;		/* driven by a multi handle, not waited on */
} S3Call;

/* a request of method on key (NULL: the bucket) with query, no range, nothing to send */
static void
call_init(S3Call *call, const char *method, const char *key, const char *query)
{
	memset(call, 0, sizeof(*call));
	call->method = method;
	call->key = key;
	call->query = query;
	call->range_from = -1;
}

/*
 * The client's second connection, for reading ahead: an easy handle driven
 * by a multi handle, so that a range's GET runs while the scan parses the
 * range before it.  One reader at a time owns it (owner); the transfer's
 * call and buffer are that reader's.
 */
typedef struct S3Prefetch
{
	CURLM	   *multi;
	CURL	   *curl;
	struct curl_slist *headers; /* of the transfer in flight */
	S3Reader   *owner;			/* NULL: no transfer in flight or waiting */
	bool		done;			/* the transfer is over, owner->ahead.rc says how */
} S3Prefetch;

struct S3Client
{
	S3Config	cfg;
	CURL	   *curl;
	char	   *scheme;			/* http or https */
	char	   *host;			/* the Host header: host[:port], bucket. first if virtual */
	bool		virtual_host;
	char	   *url;			/* s3://bucket/prefix, for messages */
	S3Prefetch	pre;
};

struct S3Reader
{
	S3Client   *client;
	char	   *key;
	char	   *url;			/* s3://bucket/key, for messages */
	char	   *what;			/* "read s3://bucket/key", for messages */
	int64		size;
	char	   *etag;
	char	   *buf;			/* the current range */
	size_t		cap;
	size_t		len;
	size_t		pos;
	int64		buf_start;		/* offset in the object of buf[0] */
	int64		requests;		/* GETs sent, resumed ones included */
	MemoryContext mcxt;			/* where the reader lives: libcurl's callbacks allocate here */
	bool		closed;
	/* the range read ahead, into the second buffer, on client->pre */
	char	   *next;
	int64		next_from;
	size_t		next_want;
	bool		reading_ahead;	/* this reader owns client->pre */
	S3Call		ahead;
};

static bool curl_ready = false;

void
s3_module_init(void)
{
	DefineCustomIntVariable("indicina.s3_max_retries",
							"Retries of an S3 request that failed in a way worth retrying.",
							"Connection failures, timeouts, 500, 502, 503, 504 and 429 are retried; 403, 404 and other client errors are not.",
							&s3_max_retries, 5, 0, 100, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("indicina.s3_retry_base_delay",
							"Backoff before the first retry of an S3 request; it doubles on every retry.",
							"Each wait is drawn between half of it and all of it (jitter).",
							&s3_retry_base_delay_ms, 100, 1, 60000, PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("indicina.s3_retry_max_delay",
							"Longest backoff between two attempts of an S3 request.",
							NULL,
							&s3_retry_max_delay_ms, 10000, 1, 3600000, PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("indicina.s3_timeout",
							"An S3 connection that cannot be made, or a transfer that moves no byte, for this long is abandoned (and retried).",
							NULL,
							&s3_timeout_s, 30, 1, 3600, PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("indicina.s3_read_size",
							"Bytes of an S3 object fetched by one ranged GET.",
							"A reader holds two such ranges in memory per open object: the one being parsed and the next, fetched meanwhile.",
							&s3_read_size_kb, 8192, 64, 512 * 1024, PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("indicina.s3_part_size",
							"Size of the parts of a multipart upload to S3; a smaller file is one PUT.",
							"S3 takes parts of 5 MB to 5 GB, at most 10,000 of them per object; a writer holds one part in memory per open file.",
							&s3_part_size_kb, 8192, 5 * 1024, 5 * 1024 * 1024, PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
}

bool
s3_is_url(const char *root)
{
	return root != NULL && strncmp(root, "s3://", 5) == 0;
}

/*
 * Splits s3://bucket/prefix.  The bucket must be a valid S3 bucket name
 * (3 to 63 lower-case letters, digits, '.' and '-', starting and ending
 * with a letter or digit); the prefix, with its leading '/' removed, may
 * be empty.  On failure sets *problem to what is wrong.
 */
bool
s3_parse_url(const char *url, char **bucket, char **prefix, const char **problem)
{
	const char *b = url + 5;
	const char *slash;
	int			len,
				i;

	if (!s3_is_url(url))
	{
		*problem = "it does not start with s3://";
		return false;
	}
	slash = strchr(b, '/');
	len = slash ? (int) (slash - b) : (int) strlen(b);
	if (len < 3 || len > 63)
	{
		*problem = "a bucket name has 3 to 63 characters";
		return false;
	}
	for (i = 0; i < len; i++)
	{
		char		c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
		{
			*problem = "a bucket name has only lower-case letters, digits, '.' and '-'";
			return false;
		}
	}
	if (b[0] == '.' || b[0] == '-' || b[len - 1] == '.' || b[len - 1] == '-')
	{
		*problem = "a bucket name starts and ends with a letter or digit";
		return false;
	}
	*bucket = pnstrdup(b, len);
	*prefix = pstrdup(slash ? slash + 1 : "");
	return true;
}

/*
 * What is wrong with an endpoint URL, or NULL: http or https, a host, an
 * optional port, and nothing else (no user, path, query or fragment), as
 * libcurl's URL parser reads it.
 */
const char *
s3_endpoint_problem(const char *endpoint)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL,
			   *host = NULL,
			   *path = NULL,
			   *user = NULL,
			   *query = NULL,
			   *fragment = NULL;
	const char *problem = NULL;

	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		problem = "It is not a URL.";
	else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		problem = "Its scheme must be http or https.";
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		problem = "It may not hold a user name or password: the keys go in a user mapping.";
	else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
			 curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
		problem = "It may not have a query or fragment.";
	else if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && strcmp(path, "/") != 0)
		problem = "It may not have a path: the bucket is named in root.";
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_free(user);
	curl_free(query);
	curl_free(fragment);
	curl_url_cleanup(u);
	return problem;
}

static void
client_reset_callback(void *arg)
{
	S3Client   *c = (S3Client *) arg;

	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
	if (c->pre.owner)
	{
		/* the owner's context goes too (or already went and let go) */
		c->pre.owner->reading_ahead = false;
		c->pre.owner = NULL;
	}
	if (c->pre.curl)
	{
		if (c->pre.multi)
			curl_multi_remove_handle(c->pre.multi, c->pre.curl);
		curl_easy_cleanup(c->pre.curl);
	}
	if (c->pre.multi)
		curl_multi_cleanup(c->pre.multi);
	curl_slist_free_all(c->pre.headers);
	c->pre.curl = NULL;
	c->pre.multi = NULL;
	c->pre.headers = NULL;
}

/*
 * A client for one bucket, in CurrentMemoryContext; its curl handle goes
 * with that context.  The endpoint was checked by the option validator;
 * it is parsed again here with libcurl's URL parser.
 */
S3Client *
s3_client_create(const S3Config *config)
{
	S3Client   *c = palloc0(sizeof(S3Client));
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));
	char	   *host;

	c->cfg = *config;
	if (c->cfg.region == NULL)
		c->cfg.region = "us-east-1";
	if (c->cfg.endpoint)
	{
		CURLU	   *u = curl_url();
		char	   *scheme = NULL,
				   *h = NULL,
				   *port = NULL;

		if (u == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		if (curl_url_set(u, CURLUPART_URL, c->cfg.endpoint, 0) != CURLUE_OK ||
			curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		{
			curl_free(scheme);
			curl_free(h);
			curl_url_cleanup(u);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("invalid value for option \"endpoint\": \"%s\"", c->cfg.endpoint)));
		}
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		c->scheme = pstrdup(scheme);
		host = port ? psprintf("%s:%s", h, port) : pstrdup(h);
		curl_free(scheme);
		curl_free(h);
		curl_free(port);
		curl_url_cleanup(u);
		c->virtual_host = c->cfg.addressing == S3_ADDRESSING_VIRTUAL;
	}
	else
	{
		c->scheme = "https";
		host = psprintf("s3.%s.amazonaws.com", c->cfg.region);
		c->virtual_host = c->cfg.addressing != S3_ADDRESSING_PATH;
	}
	c->host = c->virtual_host ? psprintf("%s.%s", c->cfg.bucket, host) : host;
	c->url = psprintf("s3://%s/%s", c->cfg.bucket, c->cfg.prefix);

	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			elog(ERROR, "could not initialize libcurl");
		curl_ready = true;
	}
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory creating an S3 connection")));
	cb->func = client_reset_callback;
	cb->arg = c;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return c;
}

const char *
s3_client_url(const S3Client *client)
{
	return client->url;
}

/* ---------------------------------------------------------------------
 * One request
 * ---------------------------------------------------------------------
 */

static bool
buf_append(S3Buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = Max(b->cap * 2, 8192);
		char	   *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > S3_BODY_MAX)
			return false;
		p = MemoryContextAllocExtended(CurrentMemoryContext, cap, MCXT_ALLOC_NO_OOM);
		if (p == NULL)
			return false;
		if (b->data)
		{
			memcpy(p, b->data, b->len);
			pfree(b->data);
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

/* libcurl's write callback: a GET's range into its buffer, anything else into body */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	S3Call	   *call = (S3Call *) arg;
	size_t		n = size * nmemb;
	long		status = 0;

	curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &status);
	if (call->into && (status == 200 || status == 206))
	{
		if (n > call->into_cap - call->into_len)
			return 0;			/* more than asked for: stop (CURLE_WRITE_ERROR) */
		memcpy(call->into + call->into_len, data, n);
		call->into_len += n;
		return n;
	}
	return buf_append(&call->body, data, n) ? n : 0;
}

/*
 * libcurl's progress callback (about once a second, and as bytes move):
 * stop the transfer when an interrupt waits that CHECK_FOR_INTERRUPTS()
 * can act on once libcurl has returned
 */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	S3Call	   *call = (S3Call *) arg;

	/* a prefetch is never waited on inside libcurl: the reader's wait checks */
	if (call == NULL || call->prefetch)
		return 0;
	return InterruptPending && INTERRUPTS_CAN_BE_PROCESSED() ? 1 : 0;
}

static char *
response_header(S3Call *call, const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(call->curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return pstrdup(h->value);
}

/* the path of the request as sent and signed: /bucket/key or /key, encoded */
static char *
request_path(S3Client *c, const char *key)
{
	StringInfoData p;

	initStringInfo(&p);
	appendStringInfoChar(&p, '/');
	if (!c->virtual_host)
	{
		appendStringInfoString(&p, c->cfg.bucket);
		if (key)
			appendStringInfoChar(&p, '/');
	}
	if (key)
		sigv4_uri_encode(&p, key, true);
	return p.data;
}

/*
 * Signs call and sets it up on handle h (options, headers, the callbacks'
 * pointers into call); returns the header list, which must outlive the
 * transfer (call_release frees it).  Raises an error only before anything
 * is set on h.
 */
static struct curl_slist *
call_prepare(S3Client *c, S3Call *call, CURL *h)
{
	char	   *path = request_path(c, call->key);
	char	   *url;
	char		amz_date[17];
	time_t		now = time(NULL);
	struct tm	tm;
	char	   *auth;
	char	   *lines[10];
	char		payload_hash[65];
	int			nlines = 0;
	struct curl_slist *headers = NULL;
	bool		oom = false;
	int			i;

	url = psprintf("%s://%s%s%s%s", c->scheme, c->host, path, call->query[0] ? "?" : "", call->query);
	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
	if (call->send)
		sigv4_sha256_hex(call->send, call->send_len, payload_hash);
	else
		strlcpy(payload_hash, EMPTY_SHA256, sizeof(payload_hash));
	auth = sigv4_authorization(call->method, c->host, path, call->query, amz_date, payload_hash,
							   c->cfg.session_token, c->cfg.region, c->cfg.access_key_id,
							   c->cfg.secret_access_key);
	lines[nlines++] = psprintf("Host: %s", c->host);
	lines[nlines++] = psprintf("x-amz-date: %s", amz_date);
	lines[nlines++] = psprintf("x-amz-content-sha256: %s", payload_hash);
	lines[nlines++] = psprintf("Authorization: %s", auth);
	if (c->cfg.session_token)
		lines[nlines++] = psprintf("x-amz-security-token: %s", c->cfg.session_token);
	if (call->range_from >= 0)
		lines[nlines++] = psprintf("Range: bytes=" INT64_FORMAT "-" INT64_FORMAT, call->range_from, call->range_to);
	lines[nlines++] = pstrdup("Expect:");
	if (call->send)
		lines[nlines++] = pstrdup("Content-Type: application/octet-stream");
	if (call->content_md5)
		lines[nlines++] = psprintf("Content-MD5: %s", call->content_md5);

	/* nothing below may raise an error until the header list is handed back */
	for (i = 0; i < nlines && !oom; i++)
	{
		struct curl_slist *n = curl_slist_append(headers, lines[i]);

		if (n == NULL)
			oom = true;
		else
			headers = n;
	}
	for (i = 0; i < nlines; i++)
	{
		if (strncmp(lines[i], "Authorization", 13) == 0 || strncmp(lines[i], "x-amz-security-token", 20) == 0)
			memset(lines[i], 0, strlen(lines[i]));
		pfree(lines[i]);
	}
	pfree(auth);
	pfree(path);
	if (oom)
	{
		curl_slist_free_all(headers);
		pfree(url);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory for an S3 request")));
	}
	call->curl = h;
	call->errbuf[0] = '\0';
	call->into_len = 0;
	call->body.len = 0;
	call->status = 0;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);	/* libcurl keeps a copy */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "indicina");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long) s3_timeout_s);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long) s3_timeout_s);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cfg.ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg.ca_file);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, call);
	if (strcmp(call->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(call->method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
	if (call->send)
	{
		/* the body from memory, sent again whole by every attempt */
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) call->send_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->send);
	}
	pfree(url);
	return headers;
}

/* after a transfer: the handle keeps the options, so no pointer into a call may stay */
static void
call_release(CURL *h, struct curl_slist *headers)
{
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, NULL);
	curl_slist_free_all(headers);
}

/* the answer's status and the response headers kept, once call->rc is set */
static void
call_collect(S3Call *call)
{
	curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &call->status);
	call->etag = call->request_id = call->last_modified = NULL;
	call->content_length = -1;
	if (call->rc == CURLE_OK || call->status > 0)
	{
		char	   *cl;

		call->etag = response_header(call, "ETag");
		call->request_id = response_header(call, "x-amz-request-id");
		call->last_modified = response_header(call, "Last-Modified");
		cl = response_header(call, "Content-Length");
		if (cl)
			call->content_length = strtoll(cl, NULL, 10);
	}
}

/*
 * Sends one request and waits for its answer (status, body, headers).  A
 * transfer stopped for a pending interrupt comes back as
 * CURLE_ABORTED_BY_CALLBACK; the caller runs CHECK_FOR_INTERRUPTS().
 */
static void
perform(S3Client *c, S3Call *call)
{
	struct curl_slist *headers = call_prepare(c, call, c->curl);

	call->rc = curl_easy_perform(c->curl);
	call_release(c->curl, headers);
	call_collect(call);
}

/* ---------------------------------------------------------------------
 * S3's XML replies (libxml2)
 * ---------------------------------------------------------------------
 */

static xmlDocPtr
parse_xml(const S3Buf *b)
{
	if (b->len == 0)
		return NULL;
	return xmlReadMemory(b->data, (int) b->len, "s3.xml", NULL,
						 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
}

/* the text of element name among node's children, palloc'd, or NULL */
static char *
child_text(xmlNodePtr node, const char *name)
{
	xmlNodePtr	n;

	for (n = node ? node->children : NULL; n; n = n->next)
	{
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0)
		{
			xmlChar    *s = xmlNodeGetContent(n);
			char	   *r = pstrdup(s ? (char *) s : "");

			xmlFree(s);
			return r;
		}
	}
	return NULL;
}

/* an error reply's Code, Message and RequestId (NULLs when there is none) */
static void
error_fields(S3Call *call, char **code, char **message, char **request_id)
{
	xmlDocPtr	doc = parse_xml(&call->body);

	*code = *message = NULL;
	*request_id = call->request_id;
	if (doc == NULL)
		return;
	PG_TRY();
	{
		xmlNodePtr	root = xmlDocGetRootElement(doc);

		if (root && strcmp((const char *) root->name, "Error") == 0)
		{
			char	   *rid = child_text(root, "RequestId");

			*code = child_text(root, "Code");
			*message = child_text(root, "Message");
			if (rid && rid[0])
				*request_id = rid;
		}
	}
	PG_FINALLY();
	{
		xmlFreeDoc(doc);
	}
	PG_END_TRY();
}

/* ---------------------------------------------------------------------
 * Retries
 * ---------------------------------------------------------------------
 */

static bool
worth_retrying(const S3Call *call)
{
	switch (call->rc)
	{
		case CURLE_OK:
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_GOT_NOTHING:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_SSL_CONNECT_ERROR:
			return true;
		default:
			return false;
	}
	return call->status == 500 || call->status == 502 || call->status == 503 ||
		call->status == 504 || call->status == 429;
}

/* waits before retry number attempt (1, 2, ...): base * 2^(attempt-1), capped, halved at random */
static void
backoff(int attempt)
{
	double		delay = s3_retry_base_delay_ms;
	long		ms;

	while (--attempt > 0 && delay < s3_retry_max_delay_ms)
		delay *= 2;
	delay = Min(delay, (double) s3_retry_max_delay_ms);
	ms = (long) (delay / 2 + pg_prng_double(&pg_global_prng_state) * delay / 2);
	while (ms > 0)
	{
		TimestampTz start = GetCurrentTimestamp();

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		ms -= (long) ((GetCurrentTimestamp() - start) / 1000);
	}
}

/* the error for a request that failed for good */
static void
report_failure(S3Call *call, int attempts)
{
	char	   *code,
			   *message,
			   *request_id;
	char	   *tries = attempts > 1 ? psprintf(" after %d attempts", attempts) : "";

	if (call->rc != CURLE_OK && call->status == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not %s: %s%s", call->what,
						call->errbuf[0] ? call->errbuf : curl_easy_strerror(call->rc), tries)));
	if (call->rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not %s: the transfer failed (HTTP %ld): %s%s", call->what, call->status,
						call->errbuf[0] ? call->errbuf : curl_easy_strerror(call->rc), tries)));
	error_fields(call, &code, &message, &request_id);
	ereport(ERROR,
			(errcode(call->status == 403 || call->status == 401 ? ERRCODE_INSUFFICIENT_PRIVILEGE :
					 call->status == 404 ? ERRCODE_UNDEFINED_FILE : ERRCODE_FDW_ERROR),
			 errmsg("could not %s: S3 answered %ld %s%s", call->what, call->status,
					code ? code : "(no error code)", tries),
			 errdetail("%s%sRequest id: %s.", message ? message : "", message ? " " : "",
					   request_id ? request_id : "none"),
			 call->status == 403 ?
			 errhint("Check the user mapping's access_key_id and secret_access_key (or the server's environment) and the server's region.") : 0));
}

/*
 * Sends a request until it succeeds (a 2xx) or fails for good (an answer
 * not worth retrying, or retries used up): then raises the error.  A GET
 * with a buffer comes back early when a dropped connection left part of
 * the range in it (call->into_len > 0, call->rc not CURLE_OK): the caller
 * resumes from there.  *attempts counts the tries since the last bytes
 * that came.
 */
static void
request(S3Client *c, S3Call *call, int *attempts)
{
	for (;;)
	{
		perform(c, call);
		if (call->rc == CURLE_ABORTED_BY_CALLBACK)
		{
			CHECK_FOR_INTERRUPTS();
			/* an interrupt that did not end the query: send again */
			if (call->into_len > 0)
				return;
			continue;
		}
		(*attempts)++;
		if (call->rc == CURLE_OK && ((call->status >= 200 && call->status < 300) ||
									 (call->also_ok && call->status == call->also_ok)))
			return;
		if (!worth_retrying(call) || *attempts > s3_max_retries)
			report_failure(call, *attempts);
		if (call->into_len > 0)
			return;				/* progress: the caller resumes after these bytes */
		backoff(*attempts);
	}
}

/* ---------------------------------------------------------------------
 * Listing and HEAD
 * ---------------------------------------------------------------------
 */

static TimestampTz
parse_iso_time(const char *s)
{
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/* one ListObjectsV2 page's objects appended to *objects; returns the next token or NULL */
static char *
list_page(S3Call *call, List **objects)
{
	xmlDocPtr	doc = parse_xml(&call->body);
	char	   *token = NULL;

	if (doc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not %s: the reply is not XML", call->what)));
	PG_TRY();
	{
		xmlNodePtr	root = xmlDocGetRootElement(doc);
		xmlNodePtr	n;
		char	   *truncated;

		if (root == NULL || strcmp((const char *) root->name, "ListBucketResult") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("could not %s: the reply is not a ListBucketResult", call->what)));
		for (n = root->children; n; n = n->next)
		{
			S3Object   *o;
			char	   *size;
			char	   *modified;

			if (n->type != XML_ELEMENT_NODE || strcmp((const char *) n->name, "Contents") != 0)
				continue;
			o = palloc0(sizeof(S3Object));
			o->key = child_text(n, "Key");
			size = child_text(n, "Size");
			o->etag = child_text(n, "ETag");
			modified = child_text(n, "LastModified");
			if (o->key == NULL || size == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("could not %s: an object in the reply has no Key or Size", call->what)));
			o->size = pg_strtoint64(size);
			o->modified = modified ? parse_iso_time(modified) : 0;
			*objects = lappend(*objects, o);
		}
		truncated = child_text(root, "IsTruncated");
		if (truncated && strcmp(truncated, "true") == 0)
		{
			token = child_text(root, "NextContinuationToken");
			if (token == NULL || token[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("could not %s: a truncated listing gave no continuation token", call->what)));
		}
	}
	PG_FINALLY();
	{
		xmlFreeDoc(doc);
	}
	PG_END_TRY();
	return token;
}

/*
 * Every object whose key starts with prefix (the whole key, the client's
 * prefix not added), in key order, following continuation tokens past
 * each page of 1,000.
 */
List *
s3_list(S3Client *client, const char *prefix)
{
	List	   *objects = NIL;
	char	   *token = NULL;
	StringInfoData q;
	S3Call		call;

	call_init(&call, "GET", NULL, "");
	call.what = psprintf("list s3://%s/%s", client->cfg.bucket, prefix);
	initStringInfo(&q);
	do
	{
		int			attempts = 0;

		CHECK_FOR_INTERRUPTS();
		/* the names in sorted order, values encoded: the canonical query as sent */
		resetStringInfo(&q);
		if (token)
		{
			appendStringInfoString(&q, "continuation-token=");
			sigv4_uri_encode(&q, token, false);
			appendStringInfoChar(&q, '&');
		}
		appendStringInfoString(&q, "list-type=2&prefix=");
		sigv4_uri_encode(&q, prefix, false);
		call.query = q.data;
		request(client, &call, &attempts);
		token = list_page(&call, &objects);
	} while (token);
	if (call.body.data)
		pfree(call.body.data);
	return objects;
}

/* the object at key, or NULL when there is none (404) */
S3Object *
s3_head(S3Client *client, const char *key)
{
	S3Call		call;
	S3Object   *o;
	int			attempts = 0;

	call_init(&call, "HEAD", key, "");
	call.what = psprintf("read s3://%s/%s", client->cfg.bucket, key);
	for (;;)
	{
		perform(client, &call);
		if (call.rc == CURLE_ABORTED_BY_CALLBACK)
		{
			CHECK_FOR_INTERRUPTS();
			continue;
		}
		attempts++;
		if (call.rc == CURLE_OK && call.status == 404)
			return NULL;
		if (call.rc == CURLE_OK && call.status == 200)
			break;
		if (!worth_retrying(&call) || attempts > s3_max_retries)
			report_failure(&call, attempts);
		backoff(attempts);
	}
	o = palloc0(sizeof(S3Object));
	o->key = pstrdup(key);
	o->size = call.content_length;
	o->etag = call.etag;
	if (call.last_modified)
	{
		time_t		t = curl_getdate(call.last_modified, NULL);

		o->modified = t > 0 ? time_t_to_timestamptz((pg_time_t) t) : 0;
	}
	return o;
}

/* ---------------------------------------------------------------------
 * Reading an object
 * ---------------------------------------------------------------------
 */

/* the reader's context goes before it was closed: let go of the read-ahead */
static void
reader_reset_callback(void *arg)
{
	S3Reader   *r = (S3Reader *) arg;

	if (r->reading_ahead)
	{
		S3Prefetch *p = &r->client->pre;

		curl_multi_remove_handle(p->multi, p->curl);
		call_release(p->curl, p->headers);
		p->headers = NULL;
		p->owner = NULL;
		r->reading_ahead = false;
	}
}

/*
 * A reader of an object, in CurrentMemoryContext.  Its struct stays there
 * after s3_reader_close (the context's reset callback looks at it), only
 * the buffers are freed.
 */
S3Reader *
s3_reader_open(S3Client *client, const char *key, int64 size, const char *etag)
{
	S3Reader   *r = palloc0(sizeof(S3Reader));
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));

	r->client = client;
	r->key = pstrdup(key);
	r->url = psprintf("s3://%s/%s", client->cfg.bucket, key);
	r->what = psprintf("read %s", r->url);
	r->size = size;
	r->etag = etag ? pstrdup(etag) : NULL;
	r->cap = (size_t) s3_read_size_kb * 1024;
	r->mcxt = CurrentMemoryContext;
	cb->func = reader_reset_callback;
	cb->arg = r;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return r;
}

/* the checks every answer to a ranged GET of the object must pass */
static void
check_range_answer(S3Reader *r, S3Call *call)
{
	if (r->etag && call->etag && strcmp(r->etag, call->etag) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s changed while it was read", r->url),
				 errdetail("Its ETag was %s when it was listed and is %s now.", r->etag, call->etag),
				 errhint("Run the query again.")));
	if (call->status == 200 && call->range_from != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not read %s: the server ignored the byte range asked for", r->url)));
}

static void
report_short_object(S3Reader *r)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("could not read %s: the object is shorter than its listed size of " INT64_FORMAT " bytes",
					r->url, r->size)));
}

/*
 * Bytes [from + got, from + want) of the object into into + got, waiting:
 * one ranged GET, or more when a connection drops, each asking for the
 * bytes still missing.  attempts counts the tries already made without
 * progress (a failed read-ahead is one).  The object must keep the ETag
 * it was listed with.
 */
static void
fetch_range(S3Reader *r, char *into, int64 from, size_t want, size_t got, int attempts)
{
	S3Call		call;

	call_init(&call, "GET", r->key, "");
	call.what = r->what;
	while (got < want)
	{
		call.range_from = from + got;
		call.range_to = from + want - 1;
		call.into = into + got;
		call.into_cap = want - got;
		r->requests++;
		request(r->client, &call, &attempts);
		check_range_answer(r, &call);
		if (call.into_len > 0)
			attempts = 0;		/* bytes came: the next drop has its retries again */
		got += call.into_len;
		if (call.rc == CURLE_OK && got < want)
			report_short_object(r);
	}
	if (call.body.data)
		pfree(call.body.data);
}

/*
 * The length of the range from offset from, the current range being the
 * one before it: indicina.s3_read_size, except that an object's first
 * ranges grow from S3_FIRST_RANGE, doubling.  The scan waits for the first
 * range whole, with nothing to parse meanwhile; a short one starts the
 * parsing, and the read-ahead of the next, sooner.
 */
static size_t
range_want(const S3Reader *r, int64 from)
{
	size_t		n = from == 0 ? S3_FIRST_RANGE : Max(S3_FIRST_RANGE, 2 * r->len);

	return (size_t) Min((int64) Min(n, r->cap), r->size - from);
}

/* lets go of the read-ahead, finished or not */
static void
ahead_stop(S3Reader *r)
{
	S3Prefetch *p = &r->client->pre;

	if (!r->reading_ahead)
		return;
	curl_multi_remove_handle(p->multi, p->curl);
	call_release(p->curl, p->headers);
	p->headers = NULL;
	p->owner = NULL;
	r->reading_ahead = false;
	if (r->ahead.body.data)
		pfree(r->ahead.body.data);
	r->ahead.body.data = NULL;
}

/*
 * Starts the GET of the range after the current one into the second
 * buffer, without waiting for it: s3_reader_read moves it on.  Nothing is
 * started at the object's end, or when another reader of the client reads
 * ahead already (that reader then reads in step, as without read-ahead).
 */
static void
ahead_start(S3Reader *r)
{
	S3Client   *c = r->client;
	S3Prefetch *p = &c->pre;
	int64		from = r->buf_start + r->len;
	int			running;

	if (from >= r->size || p->owner != NULL)
		return;
	if (p->multi == NULL)
		p->multi = curl_multi_init();
	if (p->curl == NULL)
		p->curl = curl_easy_init();
	if (p->multi == NULL || p->curl == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory creating an S3 connection")));
	if (r->next == NULL)
		r->next = MemoryContextAlloc(r->mcxt, r->cap);
	r->next_from = from;
	r->next_want = range_want(r, from);
	memset(&r->ahead, 0, sizeof(r->ahead));
	r->ahead.method = "GET";
	r->ahead.key = r->key;
	r->ahead.query = "";
	r->ahead.what = r->what;
	r->ahead.range_from = from;
	r->ahead.range_to = from + r->next_want - 1;
	r->ahead.into = r->next;
	r->ahead.into_cap = r->next_want;
	r->ahead.prefetch = true;
	p->headers = call_prepare(c, &r->ahead, p->curl);
	p->owner = r;
	p->done = false;
	r->reading_ahead = true;
	r->requests++;
	if (curl_multi_add_handle(p->multi, p->curl) != CURLM_OK)
	{
		ahead_stop(r);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory for an S3 request")));
	}
	/* the request goes out now if the connection is up */
	curl_multi_perform(p->multi, &running);
}

/*
 * Moves the read-ahead on without waiting (wait: until it is over, in
 * waits of at most 100 ms between which interrupts are served).  libcurl
 * runs in the reader's context: the write callback may allocate an error
 * body, which must last from one call to the next.
 */
static void
ahead_pump(S3Reader *r, bool wait)
{
	S3Prefetch *p = &r->client->pre;

	if (!r->reading_ahead || p->done)
		return;
	for (;;)
	{
		int			running = 0;
		int			left;
		CURLMsg    *m;
		CURLMcode	mc;
		MemoryContext old = MemoryContextSwitchTo(r->mcxt);

		mc = curl_multi_perform(p->multi, &running);
		MemoryContextSwitchTo(old);
		while ((m = curl_multi_info_read(p->multi, &left)) != NULL)
		{
			if (m->msg == CURLMSG_DONE && m->easy_handle == p->curl)
			{
				r->ahead.rc = m->data.result;
				p->done = true;
			}
		}
		if (mc != CURLM_OK && !p->done)
		{
			/* the multi handle itself failed: taken as a failed transfer */
			r->ahead.rc = CURLE_RECV_ERROR;
			p->done = true;
		}
		if (p->done || !wait)
			break;
		curl_multi_poll(p->multi, NULL, 0, 100, NULL);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The range after the current one into r->buf.  From the read-ahead when
 * one was started for it: waited for, checked as every answer is, and, if
 * it failed or its connection dropped, completed by fetch_range from the
 * first byte missing, with its retries.  Then the next read-ahead starts.
 */
static void
next_range(S3Reader *r)
{
	int64		from = r->buf_start + r->len;
	size_t		want = range_want(r, from);

	if (r->buf == NULL)
		r->buf = MemoryContextAlloc(r->mcxt, r->cap);
	if (r->reading_ahead && r->next_from == from)
	{
		S3Call	   *a = &r->ahead;
		char	   *t;
		size_t		got;
		int			attempts = 0;

		want = r->next_want;
		ahead_pump(r, true);
		curl_multi_remove_handle(r->client->pre.multi, r->client->pre.curl);
		call_collect(a);
		check_range_answer(r, a);
		got = a->into_len;
		if (a->rc == CURLE_OK && got < want &&
			(a->status == 200 || a->status == 206))
			report_short_object(r);
		if (got == 0)
		{
			/* no byte came: an answer not worth retrying is the error now */
			attempts = 1;
			if (a->rc == CURLE_OK && !worth_retrying(a) && !(a->status >= 200 && a->status < 300))
				report_failure(a, attempts);
		}
		ahead_stop(r);
		if (got < want)
		{
			if (attempts > 0)
				backoff(attempts);
			fetch_range(r, r->next, from, want, got, attempts);
		}
		t = r->buf;
		r->buf = r->next;
		r->next = t;
	}
	else
	{
		ahead_stop(r);
		fetch_range(r, r->buf, from, want, 0, 0);
	}
	r->buf_start = from;
	r->len = want;
	r->pos = 0;
	ahead_start(r);
}

/* up to len bytes of the object into buf; 0 at its end */
ssize_t
s3_reader_read(S3Reader *r, char *buf, size_t len)
{
	size_t		n;

	if (r->pos == r->len)
	{
		if (r->buf_start + (int64) r->len >= r->size)
			return 0;
		next_range(r);
	}
	else
		ahead_pump(r, false);
	n = Min(len, r->len - r->pos);
	memcpy(buf, r->buf + r->pos, n);
	r->pos += n;
	return (ssize_t) n;
}

/*
 * Back to the object's first byte.  The first range is kept when it is in
 * memory, and so is the read-ahead of the second.
 */
void
s3_reader_rewind(S3Reader *r)
{
	if (r->buf_start == 0)
		r->pos = 0;
	else
	{
		ahead_stop(r);
		r->buf_start = r->len = r->pos = 0;
	}
}

int64
s3_reader_requests(const S3Reader *r)
{
	return r->requests;
}

void
s3_reader_close(S3Reader *r)
{
	ahead_stop(r);
	if (r->buf)
		pfree(r->buf);
	if (r->next)
		pfree(r->next);
	pfree(r->key);
	pfree(r->url);
	pfree(r->what);
	if (r->etag)
		pfree(r->etag);
	r->buf = r->next = r->key = r->url = r->what = r->etag = NULL;
	r->closed = true;
}

/* ---------------------------------------------------------------------
 * Writing: PUT, and multipart uploads
 * ---------------------------------------------------------------------
 */

struct S3Upload
{
	S3Client   *client;
	char	   *key;
	char	   *url;			/* s3://bucket/key, for messages */
	char	   *upload_id;
	StringInfoData parts;		/* the CompleteMultipartUpload body's Part elements */
	int			nparts;
	bool		done;			/* completed or aborted */
};

#define S3_MAX_PARTS 10000

/* the base64 MD5 of data, for Content-MD5 */
static char *
content_md5(const char *data, size_t len)
{
	uint8		digest[16];
	const char *errstr = NULL;
	char	   *b64 = palloc(pg_b64_enc_len(16) + 1);
	int			n;

	if (!pg_md5_binary(data, len, digest, &errstr))
		elog(ERROR, "could not compute an MD5 digest: %s", errstr ? errstr : "unknown error");
	n = pg_b64_encode((const char *) digest, 16, b64, pg_b64_enc_len(16));
	if (n < 0)
		elog(ERROR, "could not encode an MD5 digest");
	b64[n] = '\0';
	return b64;
}

/* the root element of an XML reply, and the reply itself in *doc (freed by the caller) */
static xmlNodePtr
reply_root(S3Call *call, xmlDocPtr *doc)
{
	*doc = parse_xml(&call->body);
	if (*doc == NULL || xmlDocGetRootElement(*doc) == NULL)
	{
		if (*doc)
			xmlFreeDoc(*doc);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not %s: the reply is not XML", call->what)));
	}
	return xmlDocGetRootElement(*doc);
}

/*
 * An object written whole with one PUT, its Content-MD5 checked by S3;
 * retried as every request is (a PUT of the same bytes is idempotent).
 * Returns its ETag.
 */
char *
s3_put(S3Client *client, const char *key, const char *data, size_t len)
{
	S3Call		call;
	int			attempts = 0;

	call_init(&call, "PUT", key, "");
	call.send = data ? data : "";
	call.send_len = len;
	call.content_md5 = content_md5(call.send, len);
	call.what = psprintf("write s3://%s/%s", client->cfg.bucket, key);
	request(client, &call, &attempts);
	if (call.body.data)
		pfree(call.body.data);
	return call.etag ? call.etag : pstrdup("");
}

/* a multipart upload to key started (CreateMultipartUpload) */
S3Upload *
s3_upload_begin(S3Client *client, const char *key)
{
	S3Upload   *u = palloc0(sizeof(S3Upload));
	S3Call		call;
	int			attempts = 0;
	xmlDocPtr	doc;
	xmlNodePtr	root;

	u->client = client;
	u->key = pstrdup(key);
	u->url = psprintf("s3://%s/%s", client->cfg.bucket, key);
	initStringInfo(&u->parts);
	call_init(&call, "POST", key, "uploads=");
	call.send = "";
	call.what = psprintf("start a multipart upload to %s", u->url);
	request(client, &call, &attempts);
	root = reply_root(&call, &doc);
	PG_TRY();
	{
		if (strcmp((const char *) root->name, "InitiateMultipartUploadResult") == 0)
			u->upload_id = child_text(root, "UploadId");
		if (u->upload_id == NULL || u->upload_id[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("could not %s: the reply has no UploadId", call.what)));
	}
	PG_FINALLY();
	{
		xmlFreeDoc(doc);
	}
	PG_END_TRY();
	return u;
}

/* the query of a request about the upload, canonical (names sorted) */
static char *
upload_query(S3Upload *u, int part)
{
	StringInfoData q;

	initStringInfo(&q);
	if (part > 0)
		appendStringInfo(&q, "partNumber=%d&", part);
	appendStringInfoString(&q, "uploadId=");
	sigv4_uri_encode(&q, u->upload_id, false);
	return q.data;
}

/*
 * The next part (UploadPart), with its Content-MD5: S3 refuses a part whose
 * bytes are not those the digest was made from.  Every part but the last
 * must be at least 5 MB (S3 checks it at completion).
 */
void
s3_upload_part(S3Upload *u, const char *data, size_t len)
{
	S3Call		call;
	int			attempts = 0;
	int			part = u->nparts + 1;

	if (part > S3_MAX_PARTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("could not write %s: an S3 object has at most %d parts", u->url, S3_MAX_PARTS),
				 errhint("Raise indicina.s3_part_size, or lower the unload's max_part_size.")));
	call_init(&call, "PUT", u->key, upload_query(u, part));
	call.send = data;
	call.send_len = len;
	call.content_md5 = content_md5(data, len);
	call.what = psprintf("write part %d of %s", part, u->url);
	request(u->client, &call, &attempts);
	if (call.etag == NULL || call.etag[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not %s: the reply has no ETag", call.what)));
	appendStringInfo(&u->parts, "<Part><PartNumber>%d</PartNumber><ETag>", part);
	/* an ETag is a quoted hexadecimal digest: nothing in it needs escaping but & and < */
	for (const char *p = call.etag; *p; p++)
	{
		if (*p == '&')
			appendStringInfoString(&u->parts, "&amp;");
		else if (*p == '<')
			appendStringInfoString(&u->parts, "&lt;");
		else
			appendStringInfoChar(&u->parts, *p);
	}
	appendStringInfoString(&u->parts, "</ETag></Part>");
	u->nparts = part;
	pfree((char *) call.query);
	pfree((char *) call.what);
	if (call.body.data)
		pfree(call.body.data);
}

int
s3_upload_parts(const S3Upload *u)
{
	return u->nparts;
}

/*
 * The object made of the parts sent (CompleteMultipartUpload); returns its
 * ETag.  S3 may answer 200 and an Error document: that is a failure too.
 * A retry after a completion whose answer was lost finds no upload (404):
 * then the object, if there, is the one completed.
 */
char *
s3_upload_complete(S3Upload *u)
{
	S3Call		call;
	int			attempts = 0;
	StringInfoData body;
	xmlDocPtr	doc;
	xmlNodePtr	root;
	char	   *volatile etag = NULL;

	initStringInfo(&body);
	appendStringInfo(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">%s</CompleteMultipartUpload>",
					 u->parts.data);
	call_init(&call, "POST", u->key, upload_query(u, 0));
	call.send = body.data;
	call.send_len = body.len;
	call.also_ok = 404;
	call.what = psprintf("complete the multipart upload of %s", u->url);
	request(u->client, &call, &attempts);
	if (call.status == 404)
	{
		S3Object   *o = attempts > 1 ? s3_head(u->client, u->key) : NULL;

		if (o == NULL)
			report_failure(&call, attempts);
		u->done = true;
		return o->etag;
	}
	root = reply_root(&call, &doc);
	PG_TRY();
	{
		if (strcmp((const char *) root->name, "Error") == 0)
			report_failure(&call, attempts);	/* with the document's code */
		etag = child_text(root, "ETag");
	}
	PG_FINALLY();
	{
		xmlFreeDoc(doc);
	}
	PG_END_TRY();
	u->done = true;
	pfree(body.data);
	return etag ? etag : pstrdup("");
}

/*
 * The upload aborted (AbortMultipartUpload): its parts deleted, nothing
 * left behind.  An upload S3 no longer knows (404) is gone already.
 */
void
s3_upload_abort(S3Upload *u)
{
	S3Call		call;
	int			attempts = 0;

	if (u->done)
		return;
	call_init(&call, "DELETE", u->key, upload_query(u, 0));
	call.also_ok = 404;
	call.what = psprintf("abort the multipart upload of %s", u->url);
	request(u->client, &call, &attempts);
	u->done = true;
}

/*
 * The same, raising no error and processing no interrupt: for cleanup
 * after an error or a cancel (a memory-context reset callback).  Tries up
 * to indicina.s3_max_retries + 1 times, with the backoff but without
 * waiting on the latch; returns whether the upload is gone.
 */
bool
s3_upload_abort_quietly(S3Upload *u)
{
	S3Call		call;
	int			attempt;
	bool		gone = false;

	if (u->done)
		return true;
	HOLD_INTERRUPTS();
	call_init(&call, "DELETE", u->key, upload_query(u, 0));
	call.what = "abort";
	for (attempt = 1; attempt <= s3_max_retries + 1; attempt++)
	{
		perform(u->client, &call);
		if (call.rc == CURLE_OK && (call.status == 204 || call.status == 200 || call.status == 404))
		{
			gone = true;
			break;
		}
		if (!worth_retrying(&call))
			break;
		pg_usleep(Min((long) s3_retry_base_delay_ms << Min(attempt - 1, 16), (long) s3_retry_max_delay_ms) * 1000L);
	}
	RESUME_INTERRUPTS();
	u->done = true;
	return gone;
}

const char *
s3_upload_url(const S3Upload *u)
{
	return u->url;
}

/* the client's bucket, and its prefix as a folder ("" or ending in '/') */
const char *
s3_client_bucket(const S3Client *client)
{
	return client->cfg.bucket;
}

char *
s3_client_folder(const S3Client *client)
{
	const char *p = client->cfg.prefix;

	return p[0] == '\0' || p[strlen(p) - 1] == '/' ? pstrdup(p) : psprintf("%s/", p);
}
