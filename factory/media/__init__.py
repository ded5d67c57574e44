"""Media files: hashing, probing, and frame sampling for video prompts."""
