"""Image data: loading, augmented views and data sets."""
