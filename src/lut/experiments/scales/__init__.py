"""Bundled experiment scales (YAML): what every run of a study shares."""
