import os
import stat
import subprocess
import sys
import time

import pytest

from publisher.config import ConfigError, load_config


def config(tmp_path, **env):
    return load_config(env, tmp_path)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("BASE_URL", "status.example.com"),
        ("BASE_URL", "javascript:alert(1)"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://root@localhost/herald"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("PAGE_TIME_ZONE", "Mars/Olympus_Mons"),
    ],
)
def test_bad_configuration_fails_at_start_naming_the_variable(tmp_path, variable, value):
    with pytest.raises(ConfigError) as raised:
        config(tmp_path, **{variable: value})
    assert raised.value.variable == variable
    assert str(raised.value).startswith(f"{variable}:")


def test_defaults_are_an_embedded_sqlite_database_in_the_instance_folder(tmp_path):
    settings = config(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'herald.db'}"
    assert settings["REDIS_URL"] is None
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert settings["BASE_URL"] == "http://127.0.0.1:5000"


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = config(tmp_path)["SECRET_KEY"]
    second = config(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 40
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


STARTING_TOGETHER = """
import sys, time
from pathlib import Path
from publisher.config import load_config
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(load_config({}, Path(sys.argv[1]))["SECRET_KEY"])
"""


def test_processes_starting_together_all_read_the_one_key_that_was_written(tmp_path):
    """The web server, the worker and a command started at once on a new instance folder
    (it once failed one of them with FileExistsError, or let it read an empty key)."""
    start_at = str(time.time() + 3)  # each sleeps until then, so they race
    racers = [
        subprocess.Popen([sys.executable, "-c", STARTING_TOGETHER, str(tmp_path), start_at],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]  # fmt: skip
    outputs = [racer.communicate(timeout=60) for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * 8, [err for _out, err in outputs]
    keys = {out.strip() for out, _err in outputs}
    assert keys == {(tmp_path / "secret_key").read_text().strip()} and len(keys.pop()) >= 40
    assert os.listdir(tmp_path) == ["secret_key"]  # nothing written aside is left


def test_a_secret_key_from_the_environment_wins(tmp_path):
    assert config(tmp_path, SECRET_KEY="from-env")["SECRET_KEY"] == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_a_plain_postgresql_url_uses_the_psycopg_driver(tmp_path):
    settings = config(tmp_path, DATABASE_URL="postgresql://u:p@db/herald")
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/herald"


def test_redis_switches_rate_limit_storage_and_https_makes_cookies_secure(tmp_path):
    settings = config(
        tmp_path, REDIS_URL="redis://127.0.0.1:6379/0", BASE_URL="https://status.example.com/"
    )
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert settings["BASE_URL"] == "https://status.example.com"
    assert settings["SESSION_COOKIE_SECURE"] is True
