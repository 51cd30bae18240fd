"""Runs: when they are due (schedule, ticks), the job that builds the engine for one, and the
process each run goes to under ``azsyncd run`` (process, worker, pipe)."""
