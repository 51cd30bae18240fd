"""The daemon as a process: the control socket and its connections, signals, systemd's
notifications, and the lock of one daemon per state directory."""
