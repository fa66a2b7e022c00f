//! caveat-fusion: placeholder; its issue builds it.
