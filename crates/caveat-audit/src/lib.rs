//! caveat-audit: placeholder; its issue builds it.
