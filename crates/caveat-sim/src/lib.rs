//! caveat-sim: placeholder; its issue builds it.
