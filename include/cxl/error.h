/* cxl/error.h - error codes and the per-thread error message of libcxldsm.
 *
 * Every fallible call returns 0 (or a positive count) on success and one of the
 * negative CXL_E* codes on failure. Failures that a person must read (bad
 * medium, bad flag, system call) also leave a one-line explanation naming the
 * field and its value, readable with cxl_last_error() on the same thread.
 * Hot-path "try again" results (CXL_EAGAIN) leave no message.
 */
#ifndef CXL_ERROR_H
#define CXL_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum cxl_status {
    CXL_OK = 0,
    CXL_EINVAL = -1,     /* bad argument or flag */
    CXL_ESYS = -2,       /* a system call failed; message has errno text */
    CXL_ETOOSMALL = -3,  /* medium smaller than what the layout needs */
    CXL_EFORMAT = -4,    /* not formatted, foreign magic, version, checksum */
    CXL_EGEOMETRY = -5,  /* impossible geometry in the header */
    CXL_ECORRUPT = -6,   /* ring index or message header out of range */
    CXL_EAGAIN = -7,     /* queue full (producer) or empty (consumer) */
    CXL_EBUSY = -8,      /* ring owned by a live client */
    CXL_ELOST = -9,      /* ring ownership lost to another claimant */
    CXL_ETIMEDOUT = -10, /* gave up waiting */
    CXL_E2BIG = -11,     /* message larger than a queue can carry */
    CXL_EPROTO = -12,    /* peer broke the message protocol */
    CXL_ECRYPTO = -13,   /* authentication failed (tampered, replayed, wrong key) */
    CXL_EDENIED = -14,   /* not authorized */
    CXL_ESERVER = -15,   /* server not running or restarted */
    CXL_EUNKNOWN = -16,  /* a request's outcome is unknown: it may or may not have run */
};

/* Short name of a status code ("CXL_ECORRUPT"). Never NULL. */
const char *cxl_strerror(int status);

/* The message left by the last failing call on this thread ("" if none). */
const char *cxl_last_error(void);

/* For library code: record a message for this thread and return status. */
int cxl_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Same, appending ": strerror(errno)". */
int cxl_fail_errno(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
