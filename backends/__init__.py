"""portpool's backends: adapters from the one interface to a pool implementation.

This folder installs as ``portpool.backends``.  The core reaches it only through
``portpool._registry`` (import strings), never by importing it.
"""
