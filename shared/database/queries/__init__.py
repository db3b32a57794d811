"""Queries by domain. Every one is parameterized; filtering and counting happen in SQL."""
