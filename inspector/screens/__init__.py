"""Screens of the inspector, one a module."""
