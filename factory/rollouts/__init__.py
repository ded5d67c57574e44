"""The rollouts table: generation with an engine, import from RL trainers, rewards."""
