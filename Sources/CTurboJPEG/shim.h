#ifndef PHOTOSEAL_CTURBOJPEG_SHIM_H
#define PHOTOSEAL_CTURBOJPEG_SHIM_H

#include <turbojpeg.h>

// TJSCALED is a macro, which Swift cannot call: the scaled size of one dimension.
static inline int ps_tj_scaled(int dimension, tjscalingfactor factor) {
    return TJSCALED(dimension, factor);
}

#endif
