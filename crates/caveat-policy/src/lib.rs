//! caveat-policy: placeholder; its issue builds it.
