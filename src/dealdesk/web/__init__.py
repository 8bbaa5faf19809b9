"""HTTP adapter: the JSON API (and, later, the web pages) over the same use cases."""
