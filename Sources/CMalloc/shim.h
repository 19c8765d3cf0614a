// glibc's allocator controls, which Swift's Glibc module does not expose (malloc.h is not in it).
#ifndef HEALTHLEDGER_CMALLOC_SHIM_H
#define HEALTHLEDGER_CMALLOC_SHIM_H
#include <malloc.h>
#endif
