"""The legacy half: the synchronous Flask application the migration starts from."""
