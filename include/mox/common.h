/*
 * libmox — common definitions shared by every public header.
 *
 * Nothing here allocates or has state. Safe to include from C11 and C++.
 */
#ifndef MOX_COMMON_H
#define MOX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define MOX_BEGIN_DECLS extern "C" {
#define MOX_END_DECLS }
#else
#define MOX_BEGIN_DECLS
#define MOX_END_DECLS
#endif

/* MOX_API marks the exported symbols; everything else in the library is
 * compiled with hidden visibility. MOX_STATIC is defined by consumers of the
 * static library (mox.pc and the CMake package do this). */
#if defined(MOX_STATIC)
#define MOX_API
#elif defined(_WIN32)
#ifdef MOX_BUILDING
#define MOX_API __declspec(dllexport)
#else
#define MOX_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define MOX_API __attribute__((visibility("default")))
#else
#define MOX_API
#endif

/* Library version, at compile time. mox_version() gives the version of the
 * library actually linked. */
#define MOX_VERSION_MAJOR 0
#define MOX_VERSION_MINOR 1
#define MOX_VERSION_PATCH 0
#define MOX_VERSION_STRING "0.1.0"
#define MOX_VERSION_NUMBER \
    ((MOX_VERSION_MAJOR * 10000) + (MOX_VERSION_MINOR * 100) + MOX_VERSION_PATCH)

MOX_BEGIN_DECLS

/* Returns the version string of the linked library, e.g. "0.1.0". Static
 * storage; never NULL. Thread-safe. */
MOX_API const char *mox_version(void);

/* Returns MOX_VERSION_NUMBER of the linked library. Thread-safe. */
MOX_API int mox_version_number(void);

MOX_END_DECLS

#endif
