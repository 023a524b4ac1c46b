"""Admin for POS API clients (owned by the POS work)."""
