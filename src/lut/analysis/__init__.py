"""Analyses and figures of pre-trained models."""
