"""Retargeting human motion onto the Unitree G1: robot model, IK, contacts, quality, HDF5 dataset."""
