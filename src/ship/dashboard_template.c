/*-------------------------------------------------------------------------
 *
 * dashboard_template.c
 *		indicina.dashboard_asset(name): one file of the dashboard's page
 *		template (src/ship/dashboard/), as installed with the extension in
 *		its share directory, read when the dashboard is drawn.
 *
 * The template is HTML, CSS and JavaScript a front-end developer edits as
 * files; make install puts them next to the install script.  Only the
 * names of that fixed set are accepted, so the function reads nothing the
 * caller chooses and needs no file-reading privilege.  Like the server
 * looking for an extension's control file, a Debian build's
 * extension_destdir is tried before the share directory itself (how the
 * test harness stages the extension).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"

/* the template's files: what make install puts in share/extension */
static const char *const dashboard_assets[] = {
	"indicina_dashboard.html",
	"indicina_dashboard.css",
	"indicina_dashboard.js",
};

/* a template file is small: anything larger is not ours */
#define DASHBOARD_ASSET_MAX (4 * 1024 * 1024)

/*
 * Reads path whole into a palloc'd, NUL-terminated buffer; NULL when the
 * file does not exist.  Opened through fd.c, so an error closes it.
 */
static char *
read_asset_file(const char *path, int *len)
{
	FILE	   *f;
	struct stat st;
	char	   *buf;
	size_t		got;

	f = AllocateFile(path, PG_BINARY_R);
	if (f == NULL)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open dashboard template file \"%s\": %m", path)));
	}
	if (fstat(fileno(f), &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat dashboard template file \"%s\": %m", path)));
	if (st.st_size > DASHBOARD_ASSET_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dashboard template file \"%s\" is larger than %d bytes", path, DASHBOARD_ASSET_MAX)));
	buf = palloc(st.st_size + 1);
	got = fread(buf, 1, st.st_size, f);
	if (ferror(f) || got != (size_t) st.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read dashboard template file \"%s\": %m", path)));
	FreeFile(f);
	buf[got] = '\0';
	*len = (int) got;
	return buf;
}

PG_FUNCTION_INFO_V1(indicina_dashboard_asset);

/*
 * The text of one template file, converted from UTF-8 to the database's
 * encoding.  Errors name the file that is missing and where it was looked
 * for: a broken install is the only way to get one.
 */
Datum
indicina_dashboard_asset(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		sharepath[MAXPGPATH];
	char		path[MAXPGPATH];
	char	   *buf = NULL;
	char	   *converted;
	const char *destdir;
	int			len = 0;
	bool		known = false;

	for (int i = 0; i < lengthof(dashboard_assets); i++)
		known |= strcmp(name, dashboard_assets[i]) == 0;
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a file of the dashboard template", name),
				 errhint("The files are indicina_dashboard.html, indicina_dashboard.css and indicina_dashboard.js.")));

	get_share_path(my_exec_path, sharepath);
	/* Debian's servers only: NULL elsewhere */
	destdir = GetConfigOption("extension_destdir", true, false);
	if (destdir != NULL && destdir[0] != '\0')
	{
		snprintf(path, sizeof(path), "%s%s/extension/%s", destdir, sharepath, name);
		buf = read_asset_file(path, &len);
	}
	if (buf == NULL)
	{
		snprintf(path, sizeof(path), "%s/extension/%s", sharepath, name);
		buf = read_asset_file(path, &len);
	}
	if (buf == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("dashboard template file \"%s\" is not installed", name),
				 errdetail("It was looked for in \"%s/extension\".", sharepath),
				 errhint("Reinstall the extension's files (make install).")));

	converted = pg_any_to_server(buf, len, PG_UTF8);
	PG_RETURN_TEXT_P(cstring_to_text(converted));
}
