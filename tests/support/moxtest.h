/* Test helpers shared by every libmox test program. */
#ifndef MOXTEST_H
#define MOXTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mox/core.h"

/* Absolute path of a file under tests/data (from $MOX_TEST_DATA). Returns a
 * pointer to a static buffer (valid until the next call). */
const char *moxtest_data_path(const char *rel);

/* Reads tests/data/<rel> into `out` (appended). Fails the test if missing. */
void moxtest_read_data(const char *rel, mox_buf *out);

/* --- allocation-failure injection ------------------------------------
 * moxtest_alloc_install() routes libmox's allocations through a counting
 * allocator. moxtest_alloc_fail_at(k) makes the k-th allocation from now on
 * fail (k >= 1; 0 disables). moxtest_alloc_live() is the number of blocks
 * currently allocated through the hooks. */
void moxtest_alloc_install(void);
void moxtest_alloc_fail_at(unsigned long k);
unsigned long moxtest_alloc_count(void);   /* allocations since fail_at() */
long moxtest_alloc_live(void);
int moxtest_alloc_failed(void);            /* did the injected failure fire? */

/* Runs fn(arg) once normally to learn how many allocations it makes and
 * its result, then once for every k in 1..N with allocation k failing.
 * Each failing run must return MOX_ERR_NOMEM (or the normal result, when
 * the code recovers from the failure) and leave no block allocated. fn
 * must free everything it created before returning. Returns N. */
unsigned long moxtest_alloc_sweep(int (*fn)(void *arg), void *arg, const char *what);

#endif
