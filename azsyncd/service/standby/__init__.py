"""Active and standby daemons on one PostgreSQL state: who leads, the takeover, the settings
the active one shares."""
