"""Cluster adapters: Node's wire protocols on Redis (see each module)."""
