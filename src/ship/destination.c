/*-------------------------------------------------------------------------
 *
 * destination.c
 *		Opening the destination of an unload from a server of the
 *		indicina_csv wrapper, and what every destination shares: the names
 *		it accepts and writing a small whole file.
 *
 * The server's root is where unloads go: a directory (destination_dir.c)
 * or an s3:// root (destination_s3.c, with the role's keys from its user
 * mapping).  Writing there needs what COPY TO a file needs: superuser or
 * the privileges of pg_write_server_files; and USAGE on the server.
 * Every name below the root is checked here (letters, digits, '_', '-',
 * '.', no component starting with '.'), so no name can climb out of it; the directory destination also checks where
 * each directory really is.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/acl.h"

#include "fdw/fdw.h"
#include "location/s3.h"
#include "ship/destination.h"

/*
 * Refuses a relative name the destination would not write: components of
 * letters, digits, '_', '-' and '.', none empty or starting with '.',
 * separated by '/'.  what names it in the error ("prefix", "table").
 */
void
destination_check_name(const char *what, const char *relpath)
{
	const char *p;
	bool		start = true;
	int			comp = 0;

	if (relpath == NULL || *relpath == '\0' || strlen(relpath) > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", what, relpath ? relpath : ""),
				 errdetail("A name under the server's root is 1 to 1024 bytes long.")));
	for (p = relpath; *p; p++)
	{
		bool		ok;

		if (*p == '/')
			ok = !start;
		else if (start && *p == '.')
			ok = false;
		else
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
				*p == '_' || *p == '-' || *p == '.';
		comp = *p == '/' ? 0 : comp + 1;
		if (!ok || comp > 255)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, relpath),
					 errdetail("Names under the server's root are letters, digits, '_', '-' and '.', not starting with '.', separated by '/'.")));
		start = *p == '/';
	}
	if (start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", what, relpath),
				 errdetail("Names under the server's root are letters, digits, '_', '-' and '.', not starting with '.', separated by '/'.")));
}

/*
 * The indicina_csv server an unload may write into, checked: USAGE on it,
 * and for files on the server, or objects written with the server
 * process's own keys, the privileges of pg_write_server_files (as COPY TO
 * a file); into S3 with its own user mapping's keys a role needs only
 * USAGE.  *s3_root: the server's s3:// root, or NULL for a directory.
 */
static ForeignServer *
unload_server(const char *servername, char **s3_root)
{
	ForeignServer *server = GetForeignServerByName(servername, false);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	AclResult	aclresult;
	ListCell   *lc;
	bool		server_keys = false;

	if (strcmp(fdw->fdwname, "indicina_csv") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" is not a server of the indicina_csv wrapper", servername),
				 errhint("Unloads go to the root of an indicina_csv server: CREATE SERVER lake FOREIGN DATA WRAPPER indicina_csv OPTIONS (root '/srv/lake').")));
	aclresult = pg_foreign_server_aclcheck(server->serverid, GetUserId(), ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, server->servername);
	*s3_root = NULL;
	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "root") == 0 && s3_is_url(defGetString(def)))
			*s3_root = defGetString(def);
		if (strcmp(def->defname, "credentials") == 0 && strcmp(defGetString(def), "environment") == 0)
			server_keys = true;
	}
	if ((*s3_root == NULL || server_keys) && !has_privs_of_role(GetUserId(), ROLE_PG_WRITE_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to unload into server \"%s\"", servername),
				 *s3_root ?
				 errdetail("The server signs with the server process's own keys (credentials 'environment'): only superusers and roles with privileges of the pg_write_server_files role may write with them.") :
				 errdetail("Only superusers and roles with privileges of the pg_write_server_files role may write files on the server.")));
	return server;
}

/* the checks of unload_server, before an unload records anything */
void
destination_check_server(const char *servername)
{
	char	   *s3_root;

	(void) unload_server(servername, &s3_root);
}

/*
 * The destination of a delivery into directory base (relative; opened as
 * mode says) under the root of server servername, checked by unload_server.  url_prefix (NULL: none) stands
 * for the root in the URLs the files are given.
 */
Destination *
destination_open(const char *servername, const char *base, const char *url_prefix, DestinationMode mode,
				 MemoryContext mcxt)
{
	char	   *s3_root;
	ForeignServer *server = unload_server(servername, &s3_root);

	destination_check_name("delivery directory", base);
	if (url_prefix != NULL && *url_prefix == '\0')
		url_prefix = NULL;
	if (s3_root)
		return destination_s3_create(server, s3_root, base, url_prefix, mode, mcxt);
	return destination_dir_create(csv_server_root(server), base, url_prefix, mode, mcxt);
}

/* a small file written whole and committed (a manifest, unload.json); returns its URL */
char *
destination_write_whole(Destination *dest, const char *relpath, const char *data, size_t len)
{
	DestFile   *f = dest->ops->open(dest, relpath);

	dest->ops->write(f, data, len);
	dest->ops->commit(f);
	return dest->ops->url(dest, relpath);
}
