/*-------------------------------------------------------------------------
 *
 * sigv4.c
 *		AWS Signature Version 4 for S3 requests: the canonical request,
 *		the string to sign and the Authorization header, over PostgreSQL's
 *		SHA-256 and HMAC (common/cryptohash, common/hmac: OpenSSL's).
 *
 * Our own small signer rather than libcurl's CURLOPT_AWS_SIGV4: Debian's
 * libcurl 7.88 neither sorts nor encodes the query string the way S3
 * canonicalises it (?uploads, ?partNumber=&uploadId=, a continuation
 * token with '=' and '/'), and leaves x-amz-content-sha256 to the caller.
 * Here the caller builds the query already canonical (sorted, encoded),
 * and the URL sent carries exactly the string that was signed.  The test
 * S3's front recomputes every signature with botocore.
 *
 * The secret key is used only to derive the signing key; nothing here
 * prints it or keeps it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"

#include "location/s3.h"

/*
 * Appends s URI-encoded as SigV4 wants it: every byte but the unreserved
 * A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex), and '/' kept when
 * keep_slash (an object key in a path).
 */
void
sigv4_uri_encode(StringInfo out, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash))
			appendStringInfoChar(out, (char) c);
		else
		{
			appendStringInfoChar(out, '%');
			appendStringInfoChar(out, hex[c >> 4]);
			appendStringInfoChar(out, hex[c & 15]);
		}
	}
}

static void
to_hex(const uint8 *bytes, int n, char *hex)
{
	int			i;

	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
}

/* hex SHA-256 of data into hex (65 bytes) */
void
sigv4_sha256_hex(const char *data, size_t len, char *hex)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256 for an S3 request");
	pg_cryptohash_free(ctx);
	to_hex(digest, PG_SHA256_DIGEST_LENGTH, hex);
}

/* HMAC-SHA256(key, msg) into out (32 bytes) */
static void
hmac_sha256(const uint8 *key, size_t keylen, const char *msg, uint8 *out)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);

	if (ctx == NULL || pg_hmac_init(ctx, key, keylen) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) msg, strlen(msg)) < 0 ||
		pg_hmac_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute HMAC-SHA256 for an S3 request");
	pg_hmac_free(ctx);
}

/*
 * The Authorization header's value for one request.  Signed headers:
 * host, x-amz-content-sha256, x-amz-date and, with temporary credentials,
 * x-amz-security-token; the caller sends exactly these values.
 * canonical_uri is the path as sent (already encoded), canonical_query the
 * query as sent (sorted by name, encoded, "name=" for a bare name).
 */
char *
sigv4_authorization(const char *method, const char *host, const char *canonical_uri,
					const char *canonical_query, const char *amz_date,
					const char *payload_hash, const char *session_token,
					const char *region, const char *access_key_id,
					const char *secret_access_key)
{
	StringInfoData creq;
	StringInfoData sts;
	StringInfoData key;
	char		date[9];
	char		creq_hash[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	char		signature[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	uint8		k1[PG_SHA256_DIGEST_LENGTH],
				k2[PG_SHA256_DIGEST_LENGTH];
	const char *signed_headers = session_token ?
		"host;x-amz-content-sha256;x-amz-date;x-amz-security-token" :
		"host;x-amz-content-sha256;x-amz-date";
	char	   *result;

	memcpy(date, amz_date, 8);
	date[8] = '\0';

	initStringInfo(&creq);
	appendStringInfo(&creq, "%s\n%s\n%s\n", method, canonical_uri, canonical_query);
	appendStringInfo(&creq, "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n",
					 host, payload_hash, amz_date);
	if (session_token)
		appendStringInfo(&creq, "x-amz-security-token:%s\n", session_token);
	appendStringInfo(&creq, "\n%s\n%s", signed_headers, payload_hash);
	sigv4_sha256_hex(creq.data, creq.len, creq_hash);

	initStringInfo(&sts);
	appendStringInfo(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
					 amz_date, date, region, creq_hash);

	/* the signing key: HMAC chain from "AWS4" + secret over date, region, service */
	initStringInfo(&key);
	appendStringInfo(&key, "AWS4%s", secret_access_key);
	hmac_sha256((uint8 *) key.data, key.len, date, k1);
	memset(key.data, 0, key.len);
	pfree(key.data);
	hmac_sha256(k1, sizeof(k1), region, k2);
	hmac_sha256(k2, sizeof(k2), "s3", k1);
	hmac_sha256(k1, sizeof(k1), "aws4_request", k2);
	hmac_sha256(k2, sizeof(k2), sts.data, k1);
	to_hex(k1, PG_SHA256_DIGEST_LENGTH, signature);
	memset(k2, 0, sizeof(k2));

	result = psprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, SignedHeaders=%s, Signature=%s",
					  access_key_id, date, region, signed_headers, signature);
	pfree(creq.data);
	pfree(sts.data);
	return result;
}
