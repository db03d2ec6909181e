/*-------------------------------------------------------------------------
 *
 * indicina.h
 *		The extension's version (indicina.c).  Every other declaration is
 *		in the header of the folder that defines it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_H
#define INDICINA_H

#define INDICINA_VERSION "0.1.0"

#endif							/* INDICINA_H */
