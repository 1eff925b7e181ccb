"""``training_params.yaml`` (spec §6.2): DRfC's flat YAML of quoted strings; writer, parser,
validator and strict reader.

deepracer-for-cloud writes it with ``yaml.dump(default_style="'", explicit_start=True)``: a
``---`` header, sorted keys, every key and value single-quoted (a quote inside is doubled);
DRfC's ``OBJECT_POSITIONS`` is a list of quoted strings. ``WORLD_NAME`` names the track: an
official simapp route (:data:`OFFICIAL_TRACKS`) or a DeepRacer-on-AWS track id driven both ways
(:data:`TWO_DIRECTION_TRACKS`, with ``TRACK_DIRECTION_CLOCKWISE``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from deepracer_sim.errors import ExportError
from deepracer_sim.formats.problems import WARNING, Problem, raise_errors
from deepracer_sim.formats.run_folder import TRAINING_PARAMS
from deepracer_sim.track import _catalog_data as track_catalog

#: The official simapp route names (``bundle/routes/<name>.npy``) and the direction of their row
#: order: "ccw", "cw" or "open".
OFFICIAL_TRACKS: dict[str, str] = {
    row[0]: (row[4].lower() if row[3] else "open") for row in track_catalog.ROWS
}
#: DeepRacer-on-AWS track ids that can be driven both ways (``tracks.json``
#: ``enabledDirections``): their WORLD_NAME has no ``_cw``/``_ccw`` suffix and
#: ``TRACK_DIRECTION_CLOCKWISE`` picks the route file.
TWO_DIRECTION_TRACKS = frozenset((
    "2024_reinvent_champ", "2022_april_open", "2022_april_pro", "2022_august_open",
    "2022_august_pro", "2022_july_pro", "2022_june_open", "2022_june_pro", "2022_march_open",
    "2022_march_pro", "2022_may_open", "2022_may_pro", "2022_october_open", "2022_october_pro",
    "2022_reinvent_champ", "2022_september_open", "2022_september_pro", "2022_summit_speedway",
    "arctic_open", "arctic_pro", "dubai_open", "jyllandsringen_open", "jyllandsringen_pro",
    "penbay_open", "penbay_pro", "red_star_pro", "reInvent2019_track", "reInvent2019_wide",
    "thunder_hill_pro",
))
#: Keys of training_params.yaml as DRfC writes them (spec §6.2).
TRAINING_PARAMS_KEYS = (
    "AWS_REGION", "JOB_TYPE", "METRICS_S3_BUCKET", "METRICS_S3_OBJECT_KEY",
    "MODEL_METADATA_FILE_S3_KEY", "REWARD_FILE_S3_KEY", "SAGEMAKER_SHARED_S3_BUCKET",
    "SAGEMAKER_SHARED_S3_PREFIX", "BODY_SHELL_TYPE", "CAR_COLOR", "CAR_NAME", "RACE_TYPE",
    "WORLD_NAME", "DISPLAY_NAME", "RACER_NAME", "ALTERNATE_DRIVING_DIRECTION",
    "CHANGE_START_POSITION", "ROUND_ROBIN_ADVANCE_DIST", "START_POSITION_OFFSET",
    "ENABLE_DOMAIN_RANDOMIZATION", "MIN_EVAL_TRIALS",
)
#: Keys without which the file is rejected (the others are warnings).
REQUIRED_KEYS = ("WORLD_NAME",)
RACE_TYPES = ("TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT")
#: The fix of a line that is not DRfC's format.
_FORMAT_FIX = ("write every value as a quoted string under a '---' header, as DRfC's "
               "prepare-config.py does")


def _yaml_quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def dump_training_params(params: dict[str, str | list[str]],
                         comments: Sequence[str] = ()) -> str:
    """The YAML text as DRfC writes it (``yaml.dump(default_style="'", explicit_start=True)``:
    ``---`` header, sorted keys, keys and values single-quoted, a list (OBJECT_POSITIONS) as
    ``- 'item'`` lines), comments after the header."""
    lines = ["---", *(f"# {c}" for c in comments)]
    for k in sorted(params):
        value = params[k]
        if isinstance(value, list):
            lines += [f"{_yaml_quote(k)}:", *(f"- {_yaml_quote(v)}" for v in value)]
        else:
            lines.append(f"{_yaml_quote(k)}: {_yaml_quote(value)}")
    return "\n".join(lines) + "\n"


_YAML_KEY = r"(?:'(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][A-Za-z0-9_]*)"
_YAML_STR = r"(?:'(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\")"
_YAML_LINE = re.compile(rf"^(?P<key>{_YAML_KEY})\s*:(?:\s+(?P<value>.*?))?\s*$")
_YAML_ITEM = re.compile(rf"^\s*-\s+(?P<value>{_YAML_STR})\s*(?:#.*)?$")
_YAML_VALUE = re.compile(rf"(?P<v>{_YAML_STR})\s*(?:#.*)?")


def _yaml_unquote(text: str) -> str:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text.startswith('"'):
        return json.loads(text) if "\\" in text else text[1:-1]
    return text


def _parse_line(n: int, line: str, params: dict[str, object], problems: list[str],
                last_key: str | None) -> str | None:
    """Read line ``n`` into ``params``; returns the key a following list item belongs to."""
    item = _YAML_ITEM.match(line)
    items = params.get(last_key) if last_key is not None else None
    if item and isinstance(items, list):
        items.append(_yaml_unquote(item.group("value")))
        return last_key
    m = _YAML_LINE.match(line)
    if not m:
        problems.append(f"line {n}: not a 'KEY': 'value' line: {line.strip()[:60]!r}")
        return last_key
    key = _yaml_unquote(m.group("key"))
    value = (m.group("value") or "").strip()
    if key in params:
        problems.append(f"line {n}: {key} is given twice")
    if not value:
        params[key] = []
        return key
    vm = _YAML_VALUE.fullmatch(value)
    if not vm:
        problems.append(f"line {n}: {key}: {value[:40]} is not a quoted string (write "
                        f"{_yaml_quote(value)})")
        params[key] = value
    else:
        params[key] = _yaml_unquote(vm.group("v"))
    return key


def parse_training_params(text: str) -> tuple[dict[str, object], list[str]]:
    """Parse a flat ``training_params.yaml`` whose values are quoted strings (or lists of
    them, DRfC's OBJECT_POSITIONS).

    Returns:
        (params, problems): every line that is not ``---``, a comment, ``KEY: 'value'`` or a
        list item is a problem ("line N: ...").
    """
    params: dict[str, object] = {}
    problems: list[str] = []
    lines = [(n, raw.rstrip()) for n, raw in enumerate(text.splitlines(), 1)
             if raw.strip() and not raw.strip().startswith("#")]
    if not lines:
        return params, ["the file is empty (it needs the '---' header and the training keys)"]
    n, first = lines[0]
    if first.strip() == "---":
        lines = lines[1:]
    else:
        problems.append(f"line {n}: the file must start with the '---' document header "
                        f"(found {first.strip()[:40]!r})")
    last_key: str | None = None
    for n, line in lines:
        last_key = _parse_line(n, line, params, problems, last_key)
    return params, problems


def _check_values(params: dict[str, object], where: str) -> list[Problem]:
    out = []
    for key in TRAINING_PARAMS_KEYS:
        if key not in params:
            out.append(Problem(where, f"no {key}", f"add '{key}': '...' (DRfC's key set, spec "
                               "§6.2)", "error" if key in REQUIRED_KEYS else WARNING, key))
    world = params.get("WORLD_NAME")
    if isinstance(world, str) and world and world not in OFFICIAL_TRACKS \
            and world not in TWO_DIRECTION_TRACKS:
        out.append(Problem(where, f"WORLD_NAME {world!r} is not an official DeepRacer track",
                           "set WORLD_NAME to an official track id before importing", WARNING,
                           "WORLD_NAME"))
    tdc = params.get("TRACK_DIRECTION_CLOCKWISE")
    if tdc is not None and str(tdc).lower() not in ("true", "false"):
        out.append(Problem(where, f"TRACK_DIRECTION_CLOCKWISE = {tdc!r}",
                           "use 'true' or 'false'", field="TRACK_DIRECTION_CLOCKWISE"))
    race = params.get("RACE_TYPE", "TIME_TRIAL")
    if race not in RACE_TYPES:
        out.append(Problem(where, f"RACE_TYPE = {race!r}",
                           "use TIME_TRIAL, OBJECT_AVOIDANCE or HEAD_TO_BOT", field="RACE_TYPE"))
    return out


def check_training_params_text(text: str, where: str = TRAINING_PARAMS
                               ) -> tuple[dict[str, object], list[Problem]]:
    """(params, every problem) of a ``training_params.yaml`` text: its format
    (:func:`parse_training_params`), the keys, ``WORLD_NAME``, ``TRACK_DIRECTION_CLOCKWISE``
    and ``RACE_TYPE``."""
    params, lines = parse_training_params(text)
    out = [Problem(where, line, _FORMAT_FIX) for line in lines]
    return params, out + _check_values(params, where)


def check_training_params(path: str | os.PathLike, where: str | None = None) -> list[Problem]:
    """Every problem of a ``training_params.yaml`` file (read as UTF-8, bad bytes replaced)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return check_training_params_text(text, where or str(path))[1]


def read_training_params(path: str | os.PathLike) -> dict[str, object]:
    """Read a ``training_params.yaml`` (strict mode of :func:`check_training_params_text`).

    Raises:
        ExportError: a missing file or any error-level problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: file not found (expected a training_params.yaml)")
    text = path.read_text(encoding="utf-8", errors="replace")
    params, problems = check_training_params_text(text, str(path))
    raise_errors(problems, ExportError, str(path))
    return params
