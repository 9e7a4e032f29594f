#ifndef C_TRANSCRIPT_SODIUM_SHIM_H
#define C_TRANSCRIPT_SODIUM_SHIM_H
#include <sodium.h>
#endif
