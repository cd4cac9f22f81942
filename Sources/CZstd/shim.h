#ifndef PHOTOSEAL_CZSTD_SHIM_H
#define PHOTOSEAL_CZSTD_SHIM_H

#include <zstd.h>

#endif
