#ifndef PHOTOSEAL_CMONGOC_SHIM_H
#define PHOTOSEAL_CMONGOC_SHIM_H

#include <mongoc/mongoc.h>
#include <bson/bson.h>

#endif
