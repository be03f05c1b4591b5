"""Simulation backends behind one batched torch interface."""
