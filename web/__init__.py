"""The composition root: settings, wiring, the FastAPI app, pages and the ``sanke`` CLI.

The only package that reads settings and chooses adapters; nothing imports it.
"""
