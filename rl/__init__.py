"""Learning a G1 walking policy: simulation backends, terrain, task, PPO, AMP, training, evaluation."""
