/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An SQLite VFS shim that counts xSync calls (each one an fsync or
 * fdatasync) and forwards everything else to the default VFS. Installed as
 * the process's default VFS by the cache tests and bench-cache, so they can
 * show what a commit costs on disk. Header-only: static functions. */

#include <glib.h>
#include <sqlite3.h>

typedef struct
{
  sqlite3_file base;
  sqlite3_file *real; /* points just after this struct, in the same block */
} CountingFile;

static sqlite3_vfs *counting_real_vfs; /* borrowed: SQLite's default */
static sqlite3_vfs counting_vfs;
static gint counting_syncs; /* atomic */

#define REAL(f) (((CountingFile *) (f))->real)

static int
counting_close (sqlite3_file *f)
{
  int rc = REAL (f)->pMethods != NULL ? REAL (f)->pMethods->xClose (REAL (f)) : SQLITE_OK;

  f->pMethods = NULL;
  return rc;
}

static int
counting_read (sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
  return REAL (f)->pMethods->xRead (REAL (f), buf, n, off);
}

static int
counting_write (sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
  return REAL (f)->pMethods->xWrite (REAL (f), buf, n, off);
}

static int
counting_truncate (sqlite3_file *f, sqlite3_int64 size)
{
  return REAL (f)->pMethods->xTruncate (REAL (f), size);
}

static int
counting_sync (sqlite3_file *f, int flags)
{
  g_atomic_int_inc (&counting_syncs);
  return REAL (f)->pMethods->xSync (REAL (f), flags);
}

static int
counting_file_size (sqlite3_file *f, sqlite3_int64 *size)
{
  return REAL (f)->pMethods->xFileSize (REAL (f), size);
}

static int
counting_lock (sqlite3_file *f, int lock)
{
  return REAL (f)->pMethods->xLock (REAL (f), lock);
}

static int
counting_unlock (sqlite3_file *f, int lock)
{
  return REAL (f)->pMethods->xUnlock (REAL (f), lock);
}

static int
counting_check_reserved (sqlite3_file *f, int *out)
{
  return REAL (f)->pMethods->xCheckReservedLock (REAL (f), out);
}

static int
counting_file_control (sqlite3_file *f, int op, void *arg)
{
  return REAL (f)->pMethods->xFileControl (REAL (f), op, arg);
}

static int
counting_sector_size (sqlite3_file *f)
{
  return REAL (f)->pMethods->xSectorSize (REAL (f));
}

static int
counting_device_characteristics (sqlite3_file *f)
{
  return REAL (f)->pMethods->xDeviceCharacteristics (REAL (f));
}

static int
counting_shm_map (sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
  return REAL (f)->pMethods->xShmMap (REAL (f), region, size, extend, out);
}

static int
counting_shm_lock (sqlite3_file *f, int offset, int n, int flags)
{
  return REAL (f)->pMethods->xShmLock (REAL (f), offset, n, flags);
}

static void
counting_shm_barrier (sqlite3_file *f)
{
  REAL (f)->pMethods->xShmBarrier (REAL (f));
}

static int
counting_shm_unmap (sqlite3_file *f, int delete_flag)
{
  return REAL (f)->pMethods->xShmUnmap (REAL (f), delete_flag);
}

static int
counting_fetch (sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
  return REAL (f)->pMethods->xFetch (REAL (f), off, n, out);
}

static int
counting_unfetch (sqlite3_file *f, sqlite3_int64 off, void *p)
{
  return REAL (f)->pMethods->xUnfetch (REAL (f), off, p);
}

/* Version 3 methods: the unix VFS has WAL shared memory and mmap. */
static const sqlite3_io_methods counting_methods = {
  3,
  counting_close,
  counting_read,
  counting_write,
  counting_truncate,
  counting_sync,
  counting_file_size,
  counting_lock,
  counting_unlock,
  counting_check_reserved,
  counting_file_control,
  counting_sector_size,
  counting_device_characteristics,
  counting_shm_map,
  counting_shm_lock,
  counting_shm_barrier,
  counting_shm_unmap,
  counting_fetch,
  counting_unfetch,
};

static int
counting_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
  CountingFile *cf = (CountingFile *) f;
  int rc;

  cf->real = (sqlite3_file *) (cf + 1);
  rc = counting_real_vfs->xOpen (counting_real_vfs, name, cf->real, flags, out_flags);
  /* SQLite calls xClose even after a failed xOpen when pMethods is set. */
  f->pMethods = cf->real->pMethods != NULL ? &counting_methods : NULL;
  return rc;
}

/* Installs the counting VFS as the default one. Call once, before any
 * connection is opened. */
static void
counting_vfs_install (void)
{
  int rc;

  counting_real_vfs = sqlite3_vfs_find (NULL);
  g_assert (counting_real_vfs != NULL && counting_real_vfs->iVersion >= 3);
  counting_vfs = *counting_real_vfs;
  counting_vfs.zName = "lia-counting";
  counting_vfs.szOsFile = (int) sizeof (CountingFile) + counting_real_vfs->szOsFile;
  counting_vfs.xOpen = counting_open;
  rc = sqlite3_vfs_register (&counting_vfs, 1);
  g_assert (rc == SQLITE_OK);
}

static guint
counting_vfs_get_syncs (void)
{
  return (guint) g_atomic_int_get (&counting_syncs);
}

#undef REAL
