"""`lut paper`: each table of the paper as a graph of `lut` commands, and its results beside the paper's."""
