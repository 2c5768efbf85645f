// oneDNN's C API (Debian/Ubuntu: apt-get install libdnnl-dev). Debian's package
// ships no pkg-config file, so the module map links "dnnl" by name.
#include <oneapi/dnnl/dnnl.h>
