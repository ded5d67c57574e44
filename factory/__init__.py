"""The preference-dataset factory: prompts -> rollouts -> verdicts -> pairs -> exports."""

__version__ = "0.1.0"
