"""Rendering results as HTML and JSON.  Nothing here decides a verdict."""
