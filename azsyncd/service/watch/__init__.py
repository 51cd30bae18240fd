"""What watches the runs: alerts and their channels, Prometheus metrics and latency."""
