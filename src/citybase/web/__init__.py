"""Shared web pieces: templates, auth dependencies, error rendering, static assets."""
