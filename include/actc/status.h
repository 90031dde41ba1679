/*
 * status.h — the status codes shared by libactc (actc.h) and libactrt
 * (runtime.h).  Every public function returns one; 0 is success.
 */
#ifndef ACTC_STATUS_H
#define ACTC_STATUS_H

/* Status codes, shared by libactc and libactrt. */
typedef enum actc_status {
    ACTC_OK = 0,
    ACTC_ERR_SYNTAX = 1,   /* the source does not parse */
    ACTC_ERR_CHECK = 2,    /* the source parses but is not a valid model */
    ACTC_ERR_IO = 3,       /* a file could not be read or written */
    ACTC_ERR_ARG = 4,      /* an invalid argument was passed to an API call */
    ACTC_ERR_NOMEM = 5,    /* out of memory */
    ACTC_ERR_WEIGHTS = 6,  /* a weights file is malformed or does not fit the model */
    ACTC_ERR_INTERNAL = 7  /* a bug in actc; the message says where */
} actc_status;

#endif
