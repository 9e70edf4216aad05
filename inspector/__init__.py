"""sioscope's terminal inspector: a Textual app over the admin namespace (ours or Node's).

``model`` is plain state (no Textual) built from ``records``, ``filtering``,
``packet_log`` and ``series``; ``client`` is the admin-namespace connection, ``app`` the
App; ``cli`` is the ``sioscope`` command (all under ``sioscope.inspector``).
"""
