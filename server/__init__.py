"""sioscope's Socket.IO v5 server core: Node's server-side API under Python names."""
