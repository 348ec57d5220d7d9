"""Small-scale reproduction studies: LUT vs MAE over seeds and budgets, and the Table 4 ablations.

`lut experiment compare|ablations SCALE` runs the pre-trainings (each in its own process), evaluates
every encoder with the same frozen protocol, writes a JSON file and the markdown table made from it.
"""
