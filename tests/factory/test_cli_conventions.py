"""Conventions every command follows: --store / FACTORY_STORE, --config with flag overrides, exit codes."""

import json
import os
import subprocess
import sys


def factory(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "factory.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd)


ROWS = [dict(problem_id=1, problem="q?", problem_type="OCR", solution="<answer>AB</answer>"),
        dict(problem_id=2, problem="bad", problem_type="essay", solution="x")]


def test_store_from_env_config_file_and_flag_override(tmp_path):
    source = tmp_path / "t.json"
    source.write_text(json.dumps(ROWS))
    config = tmp_path / "factory.toml"
    config.write_text(f'store = "{tmp_path / "from-config"}"\n[prompts]\non_error = "skip"\n')
    result = factory("prompts", "import", str(source), "--config", str(config), "-q")
    assert result.returncode == 0, result.stderr
    assert "skipped: " in result.stderr and "unknown problem type 'essay'" in result.stderr
    assert (tmp_path / "from-config" / "prompts" / "versions").is_dir()
    # the flag beats the file: with --on-error fail the bad row fails the run and nothing is written
    failed = factory("prompts", "import", str(source), "--config", str(config), "--on-error", "fail",
                     "--store", str(tmp_path / "flag"), "-q")
    assert failed.returncode == 1 and failed.stderr.startswith("error: ")
    assert not (tmp_path / "flag" / "prompts" / "versions").exists()
    env_store = factory("prompts", "import", str(source), "--on-error", "skip", "-q",
                        env={"FACTORY_STORE": str(tmp_path / "from-env")})
    assert env_store.returncode == 0 and (tmp_path / "from-env" / "prompts" / "versions").is_dir()


def test_bad_usage_exits_2(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[prompts]\non_eror = 'skip'\n")
    typo = factory("prompts", "import", "x.json", "--config", str(config))
    assert typo.returncode == 2 and "unknown key(s) ['on_eror'] in [prompts]" in typo.stderr
    assert factory("prompts", "import").returncode == 2
    assert factory("query", "select 1", "--format", "xml", "--store", str(tmp_path)).returncode == 2


def test_schema_command_documents_columns():
    result = factory("schema", "rollouts")
    assert result.returncode == 0 and "rollout_id" in result.stdout and "finish reason" in result.stdout.lower()


def test_a_missing_store_is_named_not_read_as_empty(tmp_path):
    missing = tmp_path / "typo"
    for args in (["query", "select count(*) from prompts"], ["versions"], ["stats"], ["pairs"], ["verify"]):
        result = factory(*args, "--store", str(missing))
        assert result.returncode == 1, args
        assert result.stderr.startswith(f"error: store {missing} does not exist"), args
    assert not missing.exists()
