"""Widgets of the inspector, one a module."""
