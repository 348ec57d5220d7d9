"""Evaluation of pre-trained encoders."""
