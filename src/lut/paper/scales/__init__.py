"""Bundled scales of `lut paper`."""
