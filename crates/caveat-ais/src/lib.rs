//! caveat-ais: placeholder; its issue builds it.
