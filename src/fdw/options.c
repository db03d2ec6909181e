/*-------------------------------------------------------------------------
 *
 * options.c
 *		Options of the indicina_csv foreign-data wrapper: the validator,
 *		their parsing into a CsvOptions, and the files a table names.
 *
 * Every option is checked when it is set (CREATE/ALTER SERVER, FOREIGN
 * TABLE, column OPTIONS), so a typo fails at DDL time, not at 2 a.m.  As in
 * file_fdw, only superusers and members of pg_read_server_files may set an
 * option that names server files (root, filename, files).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "access/reloptions.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "catalog/pg_attribute.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "fdw/fdw.h"

typedef struct ValidOption
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
} ValidOption;

static const ValidOption valid_options[] = {
	{"root", ForeignServerRelationId},
	{"region", ForeignServerRelationId},
	{"endpoint", ForeignServerRelationId},
	{"addressing", ForeignServerRelationId},
	{"ca_file", ForeignServerRelationId},
	{"credentials", ForeignServerRelationId},
	{"access_key_id", UserMappingRelationId},
	{"secret_access_key", UserMappingRelationId},
	{"session_token", UserMappingRelationId},
	{"filename", ForeignTableRelationId},
	{"files", ForeignTableRelationId},
	{"header", ForeignTableRelationId},
	{"delimiter", ForeignTableRelationId},
	{"quote", ForeignTableRelationId},
	{"escape", ForeignTableRelationId},
	{"null", ForeignTableRelationId},
	{"encoding", ForeignTableRelationId},
	{"compression", ForeignTableRelationId},
	{"skip_rows", ForeignTableRelationId},
	{"trim", ForeignTableRelationId},
	{"blank_as_null", ForeignTableRelationId},
	{"fill_missing", ForeignTableRelationId},
	{"invalid_utf8", ForeignTableRelationId},
	{"on_error", ForeignTableRelationId},
	{"reject_limit", ForeignTableRelationId},
	{"missing_columns", ForeignTableRelationId},
	{"column_name", AttributeRelationId},
	{"source", AttributeRelationId},
	{"format", AttributeRelationId},
	{NULL, InvalidOid}
};

static bool
parse_bool_option(DefElem *def)
{
	return defGetBoolean(def);
}

static char
single_byte_option(DefElem *def)
{
	char	   *v = defGetString(def);

	if (strlen(v) != 1 || IS_HIGHBIT_SET(v[0]) || v[0] == '\n' || v[0] == '\r')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("%s must be a single one-byte character other than a newline", def->defname)));
	return v[0];
}

/* a value of an option with a fixed list of them, and what it stands for */
typedef struct EnumValue
{
	const char *name;
	int			value;
} EnumValue;

static const EnumValue addressing_values[] = {
	{"auto", S3_ADDRESSING_AUTO}, {"path", S3_ADDRESSING_PATH}, {"virtual", S3_ADDRESSING_VIRTUAL}, {NULL, 0}
};
static const EnumValue credentials_values[] = {{"mapping", false}, {"environment", true}, {NULL, 0}};
static const EnumValue compression_values[] = {
	{"auto", COMPRESSION_AUTO}, {"gzip", COMPRESSION_GZIP}, {"none", COMPRESSION_NONE}, {NULL, 0}
};
static const EnumValue invalid_utf8_values[] = {{"reject", false}, {"replace", true}, {NULL, 0}};
static const EnumValue on_error_values[] = {
	{"stop", ON_ERROR_STOP}, {"skip", ON_ERROR_SKIP}, {"reject", ON_ERROR_REJECT}, {NULL, 0}
};
static const EnumValue missing_columns_values[] = {{"error", false}, {"null", true}, {NULL, 0}};
/* a column's source: checked here, read by the scan */
static const EnumValue source_values[] = {{"file", 0}, {"line", 0}, {"byte_offset", 0}, {NULL, 0}};

/*
 * What the value of an option with a fixed list of values stands for; any
 * other value is refused with the list ("Valid values are a, b and c.").
 */
static int
enum_option(DefElem *def, const EnumValue *values)
{
	char	   *v = defGetString(def);
	StringInfoData allowed;
	int			i;

	for (i = 0; values[i].name != NULL; i++)
		if (strcmp(v, values[i].name) == 0)
			return values[i].value;
	initStringInfo(&allowed);
	for (i = 0; values[i].name != NULL; i++)
		appendStringInfo(&allowed, "%s%s", i == 0 ? "" : values[i + 1].name != NULL ? ", " : " and ",
						 values[i].name);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", def->defname, v),
			 errhint("Valid values are %s.", allowed.data)));
	return 0;					/* keep the compiler quiet */
}

/*
 * parses reject_limit: a count of rows from 1 to 9223372036854775807
 * ("100"), or a percentage of the rows read above 0 and at most 100
 * ("2.5%").  Digits only, with one optional decimal point in a percentage:
 * no sign, exponent, space, "inf" or "nan".
 */
static void
parse_reject_limit(DefElem *def, CsvOptions *opts)
{
	char	   *v = defGetString(def);
	int			len = strlen(v);
	bool		percent = len > 0 && v[len - 1] == '%';
	int			digits = percent ? len - 1 : len;
	bool		ok = digits > 0 && isdigit((unsigned char) v[0]) && isdigit((unsigned char) v[digits - 1]);
	bool		point = false;
	int			i;

	for (i = 0; ok && i < digits; i++)
	{
		if (v[i] == '.' && percent && !point)
			point = true;
		else if (!isdigit((unsigned char) v[i]))
			ok = false;
	}
	if (ok && percent)
	{
		opts->reject_limit = strtod(v, NULL);
		ok = opts->reject_limit > 0 && opts->reject_limit <= 100;
		opts->reject_limit_rows = 0;
	}
	else if (ok)
	{
		errno = 0;
		opts->reject_limit_rows = strtoll(v, NULL, 10);
		ok = errno == 0 && opts->reject_limit_rows > 0;
		opts->reject_limit = (double) opts->reject_limit_rows;
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"reject_limit\": \"%s\"", v),
				 errhint("Give a number of rows from 1 to 9223372036854775807, such as 100, or a percentage of the rows read above 0 and at most 100, such as 1%% or 0.5%%.")));
	opts->reject_limit_percent = percent;
}

/* applies one table- or server-level option to opts (already validated by name) */
static void
apply_option(DefElem *def, CsvOptions *opts)
{
	const char *n = def->defname;

	if (strcmp(n, "root") == 0)
		opts->root = defGetString(def);
	else if (strcmp(n, "region") == 0)
		opts->region = defGetString(def);
	else if (strcmp(n, "endpoint") == 0)
		opts->endpoint = defGetString(def);
	else if (strcmp(n, "ca_file") == 0)
		opts->ca_file = defGetString(def);
	else if (strcmp(n, "addressing") == 0)
		opts->addressing = (S3Addressing) enum_option(def, addressing_values);
	else if (strcmp(n, "credentials") == 0)
		opts->credentials_env = enum_option(def, credentials_values);
	else if (strcmp(n, "filename") == 0)
		opts->filename = defGetString(def);
	else if (strcmp(n, "files") == 0)
		opts->files = defGetString(def);
	else if (strcmp(n, "header") == 0)
	{
		char	   *v = defGetString(def);

		if (pg_strcasecmp(v, "match") == 0)
			opts->header = HEADER_MATCH;
		else
			opts->header = parse_bool_option(def) ? HEADER_TRUE : HEADER_FALSE;
	}
	else if (strcmp(n, "delimiter") == 0)
		opts->delimiter = single_byte_option(def);
	else if (strcmp(n, "quote") == 0)
		opts->quote = single_byte_option(def);
	else if (strcmp(n, "escape") == 0)
		opts->escape = single_byte_option(def);
	else if (strcmp(n, "null") == 0)
		opts->null_string = defGetString(def);
	else if (strcmp(n, "encoding") == 0)
	{
		int			enc = pg_char_to_encoding(defGetString(def));

		if (enc < 0 || !PG_VALID_ENCODING(enc))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("invalid value for option \"encoding\": \"%s\"", defGetString(def)),
					 errhint("Give a PostgreSQL encoding name such as UTF8, LATIN1 or WIN1252.")));
		opts->encoding = enc;
	}
	else if (strcmp(n, "compression") == 0)
		opts->compression = (Compression) enum_option(def, compression_values);
	else if (strcmp(n, "skip_rows") == 0)
	{
		int			v;

		if (!parse_int(defGetString(def), &v, 0, NULL) || v < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("invalid value for option \"skip_rows\": \"%s\"", defGetString(def)),
					 errhint("Give a number of lines, 0 or more.")));
		opts->skip_rows = v;
	}
	else if (strcmp(n, "trim") == 0)
		opts->trim = parse_bool_option(def);
	else if (strcmp(n, "blank_as_null") == 0)
		opts->blank_as_null = parse_bool_option(def);
	else if (strcmp(n, "fill_missing") == 0)
		opts->fill_missing = parse_bool_option(def);
	else if (strcmp(n, "invalid_utf8") == 0)
		opts->invalid_utf8_replace = enum_option(def, invalid_utf8_values);
	else if (strcmp(n, "on_error") == 0)
		opts->on_error = (OnError) enum_option(def, on_error_values);
	else if (strcmp(n, "reject_limit") == 0)
		parse_reject_limit(def, opts);
	else if (strcmp(n, "missing_columns") == 0)
		opts->missing_columns_null = enum_option(def, missing_columns_values);
}

static void
set_defaults(CsvOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->header = HEADER_TRUE;
	opts->delimiter = ',';
	opts->quote = '"';
	opts->escape = '"';
	opts->encoding = GetDatabaseEncoding();
	opts->compression = COMPRESSION_AUTO;
	opts->trim = false;
	opts->invalid_utf8_replace = false;
	opts->on_error = ON_ERROR_STOP;
	opts->reject_limit = -1;
}

/* rejects paths that climb out ("..") before anything touches the disk */
static void
check_relative_path(const char *option, const char *path)
{
	const char *p = path;

	while (*p)
	{
		const char *slash = strchr(p, '/');
		int			len = slash ? (int) (slash - p) : (int) strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("option \"%s\" may not contain \"..\": \"%s\"", option, path),
					 errhint("Files are named relative to the server's root directory.")));
		if (!slash)
			break;
		p = slash + 1;
	}
}

/* an s3:// root: a valid bucket name, an optional prefix */
static void
check_s3_root(const char *root)
{
	char	   *bucket,
			   *prefix;
	const char *problem;

	if (!s3_parse_url(root, &bucket, &prefix, &problem))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"root\": \"%s\"", root),
				 errdetail("As an S3 location, %s.", problem),
				 errhint("Give s3://bucket/prefix, e.g. s3://acme-landing/drops/.")));
}

/* an endpoint: http:// or https://, a host, an optional port, no path, query or user */
static void
check_endpoint(const char *endpoint)
{
	const char *problem = s3_endpoint_problem(endpoint);

	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"endpoint\": \"%s\"", endpoint),
				 errdetail("%s", problem),
				 errhint("Give the S3-compatible store's URL, e.g. https://minio.internal:9000.")));
}

/*
 * A user mapping's S3 keys.  Their values are never quoted in a message:
 * an error would put them in the log.
 */
static void
check_secret_option(DefElem *def)
{
	const char *v = defGetString(def);

	if (v[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("option \"%s\" may not be empty", def->defname)));
}

static void
check_secret_options(List *options)
{
	ListCell   *lc;
	bool		key = false,
				secret = false,
				token = false;

	foreach(lc, options)
	{
		const char *n = ((DefElem *) lfirst(lc))->defname;

		key |= strcmp(n, "access_key_id") == 0;
		secret |= strcmp(n, "secret_access_key") == 0;
		token |= strcmp(n, "session_token") == 0;
	}
	if (key != secret || (token && !key))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("a user mapping for an S3 server needs both \"access_key_id\" and \"secret_access_key\""),
				 errhint("Give both, and \"session_token\" too for temporary credentials.")));
}

PG_FUNCTION_INFO_V1(indicina_csv_validator);

/*
 * Validates the options of a server, foreign table or column: known names
 * in the right place ("Perhaps you meant" otherwise), valid values, and the
 * privilege to name server files.
 */
Datum
indicina_csv_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	CsvOptions	opts;
	ListCell   *lc;
	bool		has_source = false,
				has_format = false,
				has_column_name = false;

	set_defaults(&opts);
	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const ValidOption *opt;
		bool		found = false;

		for (opt = valid_options; opt->name; opt++)
			if (opt->context == catalog && strcmp(opt->name, def->defname) == 0)
				found = true;
		if (!found)
		{
			const char *closest = NULL;
			int			best = 5;	/* farther than this is no suggestion */

			for (opt = valid_options; opt->name; opt++)
				if (opt->context == catalog)
				{
					int			d = varstr_levenshtein(def->defname, strlen(def->defname),
													   opt->name, strlen(opt->name), 1, 1, 1, false);

					if (d < best)
						best = d, closest = opt->name;
				}
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 closest ? errhint("Perhaps you meant the option \"%s\".", closest) :
					 errhint("There are no valid options in this context.")));
		}

		if (catalog == UserMappingRelationId)
		{
			check_secret_option(def);
			continue;
		}
		if (strcmp(def->defname, "root") == 0 || strcmp(def->defname, "filename") == 0 ||
			strcmp(def->defname, "files") == 0 || strcmp(def->defname, "endpoint") == 0 ||
			strcmp(def->defname, "ca_file") == 0 || strcmp(def->defname, "credentials") == 0)
		{
			if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("only superuser or a role with privileges of the pg_read_server_files role may specify the %s option of an indicina_csv %s",
								def->defname, catalog == ForeignServerRelationId ? "server" : "foreign table")));
			if (strcmp(def->defname, "root") == 0 && s3_is_url(defGetString(def)))
				check_s3_root(defGetString(def));
			else if (strcmp(def->defname, "root") == 0 && !is_absolute_path(defGetString(def)))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"root\" must be an absolute path or an s3:// URL: \"%s\"", defGetString(def))));
			else if (strcmp(def->defname, "endpoint") == 0)
				check_endpoint(defGetString(def));
			else if (strcmp(def->defname, "ca_file") == 0 && !is_absolute_path(defGetString(def)))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"ca_file\" must be an absolute path: \"%s\"", defGetString(def))));
			else if (strcmp(def->defname, "filename") == 0 || strcmp(def->defname, "files") == 0)
				check_relative_path(def->defname, defGetString(def));
		}

		if (catalog == AttributeRelationId)
		{
			if (strcmp(def->defname, "source") == 0)
			{
				(void) enum_option(def, source_values);
				has_source = true;
			}
			else if (strcmp(def->defname, "format") == 0)
				has_format = true;
			else
				has_column_name = true;
		}
		else
			apply_option(def, &opts);
	}

	if (catalog == ForeignTableRelationId)
	{
		if (opts.filename && opts.files)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("options \"filename\" and \"files\" cannot both be given")));
		if (!opts.filename && !opts.files)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("either \"filename\" or \"files\" is required for an indicina_csv foreign table")));
		if (opts.delimiter == opts.quote)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("delimiter and quote must be different characters")));
		if (opts.reject_limit >= 0 && opts.on_error == ON_ERROR_STOP)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("option \"reject_limit\" needs on_error 'skip' or 'reject'"),
					 errhint("With on_error 'stop' the first bad row stops the scan.")));
	}
	if (catalog == ForeignServerRelationId && !opts.root)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"root\" is required for an indicina_csv server"),
				 errhint("Name the landing directory, e.g. OPTIONS (root '/srv/landing').")));
	if (catalog == ForeignServerRelationId && !s3_is_url(opts.root))
	{
		foreach(lc, options)
		{
			const char *n = ((DefElem *) lfirst(lc))->defname;

			if (strcmp(n, "region") == 0 || strcmp(n, "endpoint") == 0 || strcmp(n, "addressing") == 0 ||
				strcmp(n, "ca_file") == 0 || strcmp(n, "credentials") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("option \"%s\" is only for a server whose root is an s3:// URL", n)));
		}
	}
	if (catalog == UserMappingRelationId)
		check_secret_options(options);
	if (has_source && (has_format || has_column_name))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("a column with option \"source\" takes no \"format\" or \"column_name\"")));
	PG_RETURN_VOID();
}

/* Collects the server and table options of a foreign table. */
void
csv_get_options(Oid foreigntableid, CsvOptions *opts)
{
	ForeignTable *table = GetForeignTable(foreigntableid);
	ForeignServer *server = GetForeignServer(table->serverid);
	ListCell   *lc;

	set_defaults(opts);
	opts->serverid = server->serverid;
	foreach(lc, server->options)
		apply_option((DefElem *) lfirst(lc), opts);
	foreach(lc, table->options)
		apply_option((DefElem *) lfirst(lc), opts);
	if (!opts->root)
		elog(ERROR, "indicina_csv server has no root");
}

void
csv_get_column_options(Oid foreigntableid, int attnum, CsvColumnOptions *copts)
{
	ListCell   *lc;

	memset(copts, 0, sizeof(*copts));
	foreach(lc, GetForeignColumnOptions(foreigntableid, attnum))
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "column_name") == 0)
			copts->column_name = defGetString(def);
		else if (strcmp(def->defname, "format") == 0)
			copts->format = defGetString(def);
		else if (strcmp(def->defname, "source") == 0)
		{
			char	   *v = defGetString(def);

			copts->source = strcmp(v, "file") == 0 ? SOURCE_FILE :
				strcmp(v, "line") == 0 ? SOURCE_LINE : SOURCE_BYTE_OFFSET;
		}
	}
}

char *
csv_reject_limit_text(const CsvOptions *opts)
{
	if (opts->reject_limit < 0)
		return pstrdup("none");
	if (opts->reject_limit_percent)
		return psprintf("%g%%", opts->reject_limit);
	return psprintf(INT64_FORMAT, opts->reject_limit_rows);
}

static int
file_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(((CsvFile *) lfirst(a))->display, ((CsvFile *) lfirst(b))->display);
}

/*
 * Adds the files one pattern names (a glob, relative to the resolved root)
 * to *files.  A file that resolves outside root, through ".." or a symbolic
 * link, is refused.
 */
static void
add_pattern(List **files, const char *root, const char *pattern, bool missing_ok)
{
	char	   *full;
	glob_t		g;
	int			rc;
	size_t		i;
	int			rootlen = strlen(root);
	char	   *root_copy = pstrdup(root);

	if (is_absolute_path(pattern))
	{
		if (!csv_path_is_under(root, pattern))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("file \"%s\" is outside the server's root directory", pattern)));
		full = pstrdup(pattern);
	}
	else
		full = psprintf("%s/%s", root, pattern);

	rc = glob(full, GLOB_ERR | GLOB_NOSORT, NULL, &g);
	if (rc == GLOB_NOMATCH || rc == GLOB_ABORTED)
	{
		globfree(&g);
		if (missing_ok)
			return;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("no file matches \"%s\" under the server's root directory", pattern),
				 errhint("Check the table's filename or files option and the landing directory.")));
	}
	if (rc != 0)
	{
		globfree(&g);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory while listing \"%s\"", pattern)));
	}
	for (i = 0; i < g.gl_pathc; i++)
	{
		char		resolved[PATH_MAX];
		struct stat st;
		CsvFile    *f;

		if (realpath(g.gl_pathv[i], resolved) == NULL)
		{
			int			save_errno = errno;

			globfree(&g);
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not resolve \"%s\": %m", pattern)));
		}
		if (!csv_path_is_under(root, resolved))
		{
			globfree(&g);
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("file \"%s\" resolves outside the server's root directory", pattern),
					 errdetail("Symbolic links out of the root are refused.")));
		}
		if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode))
			continue;			/* directories and other non-files a glob may match */
		f = palloc0(sizeof(CsvFile));
		f->path = pstrdup(resolved);
		f->display = pstrdup(resolved + rootlen + 1);
		f->root = root_copy;
		f->size = st.st_size;
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		*files = lappend(*files, f);
	}
	globfree(&g);
}

/*
 * Whether path (absolute, resolved) is strictly below root (resolved): what
 * keeps every file a server names, read or written, inside its root.
 */
bool
csv_path_is_under(const char *root, const char *path)
{
	int			rootlen = strlen(root);

	return strncmp(path, root, rootlen) == 0 && path[rootlen] == '/';
}

/*
 * root resolved (realpath) into out, a PATH_MAX buffer; false only when
 * missing_ok and it cannot be.
 */
static bool
resolve_root(const char *root, char *out, bool missing_ok)
{
	if (realpath(root, out) != NULL)
		return true;
	if (missing_ok)
		return false;
	ereport(ERROR,
			(errcode_for_file_access(),
			 errmsg("could not open the root directory \"%s\": %m", root)));
	return false;				/* keep the compiler quiet */
}

/*
 * The resolved root directory of an indicina_csv server, palloc'd: what a
 * destination of unloads (src/ship/) writes under, resolved as the reader
 * resolves it.
 */
char *
csv_server_root(ForeignServer *server)
{
	CsvOptions	opts;
	ListCell   *lc;
	char		root[PATH_MAX];

	set_defaults(&opts);
	foreach(lc, server->options)
		apply_option((DefElem *) lfirst(lc), &opts);
	if (!opts.root)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no option \"root\"", server->servername)));
	resolve_root(opts.root, root, false);
	return pstrdup(root);
}

bool
csv_root_is_s3(const CsvOptions *opts)
{
	return s3_is_url(opts->root);
}

/* a user mapping's option, or NULL */
static char *
mapping_option(UserMapping *um, const char *name)
{
	ListCell   *lc;

	foreach(lc, um->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

/*
 * A client for an s3:// root, with the keys of the current role's user
 * mapping (a role without one cannot use the server), or with the server
 * process's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
 * when the server says credentials 'environment'.
 */
static S3Client *
s3_client_for(const CsvOptions *opts)
{
	S3Config	cfg;
	const char *problem;
	ForeignServer *server = GetForeignServer(opts->serverid);

	memset(&cfg, 0, sizeof(cfg));
	if (!s3_parse_url(opts->root, &cfg.bucket, &cfg.prefix, &problem))
		elog(ERROR, "indicina_csv server has an invalid s3:// root");
	cfg.region = opts->region;
	cfg.endpoint = opts->endpoint;
	cfg.addressing = opts->addressing;
	cfg.ca_file = opts->ca_file;
	if (opts->credentials_env)
	{
		const char *key = getenv("AWS_ACCESS_KEY_ID");
		const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
		const char *token = getenv("AWS_SESSION_TOKEN");

		if (key == NULL || key[0] == '\0' || secret == NULL || secret[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("server \"%s\" takes its S3 keys from the environment, and AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not set",
							server->servername),
					 errhint("Set both in the environment PostgreSQL starts with, or use credentials 'mapping' and a user mapping.")));
		cfg.access_key_id = pstrdup(key);
		cfg.secret_access_key = pstrdup(secret);
		cfg.session_token = token && token[0] ? pstrdup(token) : NULL;
	}
	else
	{
		UserMapping *um = GetUserMapping(GetUserId(), opts->serverid);

		cfg.access_key_id = mapping_option(um, "access_key_id");
		cfg.secret_access_key = mapping_option(um, "secret_access_key");
		cfg.session_token = mapping_option(um, "session_token");
		if (cfg.access_key_id == NULL || cfg.secret_access_key == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("the user mapping for \"%s\" on server \"%s\" has no S3 keys",
							GetUserNameFromId(GetUserId(), false), server->servername),
					 errhint("ALTER USER MAPPING ... OPTIONS (ADD access_key_id '...', ADD secret_access_key '...').")));
	}
	return s3_client_create(&cfg);
}

/*
 * A client for the s3:// root of server, with the current role's keys (as
 * a table of the server reads with): the unload's S3 destination.
 */
S3Client *
csv_server_s3_client(ForeignServer *server)
{
	CsvOptions	opts;
	ListCell   *lc;

	set_defaults(&opts);
	foreach(lc, server->options)
		apply_option((DefElem *) lfirst(lc), &opts);
	opts.serverid = server->serverid;
	if (!opts.root || !s3_is_url(opts.root))
		elog(ERROR, "server \"%s\" has no s3:// root", server->servername);
	return s3_client_for(&opts);
}

/* the bytes of a glob before its first special character */
static int
literal_prefix_len(const char *pattern)
{
	return (int) strcspn(pattern, "*?[\\");
}

/*
 * Adds the objects one pattern names (a glob relative to the root's
 * prefix) to *files: a pattern without special characters is one HEAD,
 * any other lists the keys that start with its literal part and matches
 * them as glob() matches paths ('*' does not cross '/', nor match a
 * leading '.').  Keys ending in '/' (folder markers) are no files.
 */
static void
add_s3_pattern(List **files, S3Client *client, const char *base, const CsvOptions *opts,
			   const char *pattern, bool missing_ok)
{
	char	   *full = psprintf("%s%s", base, pattern);
	int			baselen = strlen(base);
	List	   *objects = NIL;
	ListCell   *lc;
	int			found = 0;

	if (pattern[0] == '/')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("file \"%s\" is outside the server's root directory", pattern),
				 errdetail("Objects are named relative to the server's s3:// root.")));
	if (literal_prefix_len(pattern) == (int) strlen(pattern))
	{
		S3Object   *o = s3_head(client, full);

		if (o)
			objects = list_make1(o);
	}
	else
		objects = s3_list(client, pnstrdup(full, baselen + literal_prefix_len(pattern)));
	foreach(lc, objects)
	{
		S3Object   *o = (S3Object *) lfirst(lc);
		int			klen = strlen(o->key);
		CsvFile    *f;

		if (klen <= baselen || o->key[klen - 1] == '/' || strncmp(o->key, base, baselen) != 0 ||
			fnmatch(pattern, o->key + baselen, FNM_PATHNAME | FNM_PERIOD) != 0)
			continue;
		f = palloc0(sizeof(CsvFile));
		f->path = o->key;
		f->display = o->key + baselen;
		f->root = opts->root;
		f->size = o->size;
		f->s3 = client;
		f->etag = o->etag;
		f->modified = o->modified;
		*files = lappend(*files, f);
		found++;
	}
	if (found == 0 && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("no object matches \"%s\" under %s", pattern, opts->root),
				 errhint("Check the table's filename or files option and the landing prefix.")));
}

/* the patterns of the filename or files option, each trimmed */
static List *
file_patterns(const CsvOptions *opts)
{
	List	   *patterns = NIL;
	char	   *list,
			   *tok,
			   *save;

	if (opts->filename)
		return list_make1(opts->filename);
	list = pstrdup(opts->files);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		while (*tok == ' ')
			tok++;
		if (*tok)
			patterns = lappend(patterns, tok);
	}
	return patterns;
}

/* drops the second of two entries with the same name (sorted list) */
static List *
unique_files(List *files)
{
	List	   *result = NIL;
	ListCell   *lc;
	const char *prev = NULL;

	list_sort(files, file_cmp);
	foreach(lc, files)
	{
		CsvFile    *f = (CsvFile *) lfirst(lc);

		if (prev && strcmp(prev, f->display) == 0)
			continue;
		result = lappend(result, f);
		prev = f->display;
	}
	return result;
}

/* csv_resolve_files for an s3:// root: objects under its prefix, taken as a folder */
static List *
s3_resolve_files(const CsvOptions *opts, bool missing_ok)
{
	S3Client   *client = s3_client_for(opts);
	char	   *bucket,
			   *prefix;
	const char *problem;
	char	   *base;
	List	   *files = NIL;
	ListCell   *lc;

	(void) s3_parse_url(opts->root, &bucket, &prefix, &problem);
	base = prefix[0] == '\0' || prefix[strlen(prefix) - 1] == '/' ? prefix : psprintf("%s/", prefix);
	foreach(lc, file_patterns(opts))
		add_s3_pattern(&files, client, base, opts, (char *) lfirst(lc), missing_ok);
	return unique_files(files);
}

/*
 * The files a table reads, sorted by their path under root, each once.
 * missing_ok: no error when nothing matches (the planner's estimate).
 */
List *
csv_resolve_files(const CsvOptions *opts, bool missing_ok)
{
	char		root[PATH_MAX];
	List	   *files = NIL;
	ListCell   *lc;

	if (s3_is_url(opts->root))
		return s3_resolve_files(opts, missing_ok);
	if (!resolve_root(opts->root, root, missing_ok))
		return NIL;
	foreach(lc, file_patterns(opts))
		add_pattern(&files, root, (char *) lfirst(lc), missing_ok);
	return unique_files(files);
}
