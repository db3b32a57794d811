"""Pages both halves render from the same Jinja2 templates, so a page looks the same
whoever serves it."""
