#ifndef C_TRANSCRIPT_LMDB_SHIM_H
#define C_TRANSCRIPT_LMDB_SHIM_H
#include <lmdb.h>
#endif
