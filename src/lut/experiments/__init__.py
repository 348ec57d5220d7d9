"""Small-scale reproduction studies: LUT vs MAE over seeds and budgets, the Table 4 ablations, fine-tuning.

`lut experiment compare|ablations SCALE` runs the pre-trainings (each in its own process), evaluates
every encoder with the same frozen protocol, writes a JSON file and the markdown table made from it;
`lut experiment finetune SCALE` fine-tunes the comparison's students and random initialisations end to end.
"""
