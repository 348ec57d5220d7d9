"""Launching `lut` training commands on a cluster (SLURM through submitit) or locally, with requeue."""
