#include <libxml/xmlversion.h>
// Debian's libxml2 is built with ICU, and its encoding.h then includes the system's ICU
// headers, which clash with Foundation's own ICU module. photoseal never touches the encoding
// handlers those declarations serve (it only parses and walks trees), so they are left out.
#undef LIBXML_ICU_ENABLED
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

// xmlFree is a global function pointer, which Swift imports awkwardly: one call to it.
static inline void ps_xml_free(void *p) { xmlFree(p); }
