"""Transfer fine-tuning over a hyper-parameter grid (Kornblith et al. 2019; LUT paper Sec. 5.3)."""
