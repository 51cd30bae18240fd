"""``azsyncd demo``: a daemon on a throwaway configuration, for a first look."""
