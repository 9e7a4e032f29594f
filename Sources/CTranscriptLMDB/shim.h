#ifndef C_TRANSCRIPT_LMDB_SHIM_H
#define C_TRANSCRIPT_LMDB_SHIM_H
#include <lmdb.h>
#include <sys/types.h>

/* Linux's sync_file_range(2), which Swift's Glibc module leaves out (it needs _GNU_SOURCE).
 * The storage layer uses it to start writing an environment's pages back between checkpoints. */
extern int sync_file_range(int __fd, __off64_t __offset, __off64_t __count, unsigned int __flags);
#define TVAULT_SYNC_FILE_RANGE_WRITE 2
#endif
