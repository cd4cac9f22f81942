#ifndef PHOTOSEAL_CPOSTGRES_SHIM_H
#define PHOTOSEAL_CPOSTGRES_SHIM_H

// Debian installs libpq's headers under /usr/include/postgresql, which `pkg-config libpq`
// adds to the include path.
#include <libpq-fe.h>

#endif
