"""The sync engine: directory users in, help desk contacts out, every step recorded."""
