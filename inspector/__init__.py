"""sioscope's terminal inspector: a Textual app over the admin namespace (ours or Node's).

``inspector.model`` is plain state (no Textual) built from ``inspector.records``,
``inspector.filtering``, ``inspector.packet_log`` and ``inspector.series``;
``inspector.client`` is the admin-namespace connection, ``inspector.app`` the App;
``inspector.cli`` is the ``sioscope`` command.
"""
