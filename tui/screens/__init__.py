"""Modal screens: forms, confirmations, the device-code sign-in, the dry-run plan."""
