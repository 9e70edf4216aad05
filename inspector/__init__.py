"""sioscope's terminal inspector: a Textual app over the admin namespace (ours or Node's).

``inspector.model`` is plain state (no Textual), ``inspector.client`` the admin-namespace
connection, ``inspector.app`` the App; ``inspector.cli`` is the ``sioscope`` command.
"""
