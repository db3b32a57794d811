"""Test-support helpers: in-process stand-ins for outside services."""
