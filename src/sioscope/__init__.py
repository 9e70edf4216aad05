"""sioscope: a Socket.IO v5 server core with Node's semantics, and a terminal inspector.

The distribution installs one top-level package, ``sioscope``, so nothing it ships can
shadow (or be shadowed by) an application's own ``server.py`` or ``inspector.py``:

- ``sioscope.server``: the server library (from the repository's ``server/`` folder);
- ``sioscope.inspector``: the Textual inspector and the ``sioscope`` command (from
  ``inspector/``).

``python -m sioscope`` is the ``sioscope`` command.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sioscope")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
