"""The ``trainers`` command line: TRL-based SFT, DPO and GRPO on factory datasets (to come)."""

import typer

app = typer.Typer(help="Train policies with TRL on factory datasets.", no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """Train policies with TRL on factory datasets (commands arrive with the trainer issue)."""


if __name__ == "__main__":
    app()
