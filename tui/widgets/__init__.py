"""One widget per file; each panel loads its own data from the daemon in a worker."""
