"""Checkpoint names, ``deepracer_checkpoints.json`` and ``.coach_checkpoint`` (spec §6.1):
readers, writers and validators.

A checkpoint is named as DeepRacer names its TensorFlow checkpoints, ``<N>_Step-<steps>``:
``<name>.zip`` in a run folder (stable-baselines3), ``<name>.ckpt`` (the prefix of its files) in
an exported model folder. ``N`` counts the policy updates before it, as DeepRacer's trainer
numbers them: it saves the untrained policy as checkpoint 0 before training starts and
checkpoint ``k`` after its ``k``-th update, and rollout workers drive iteration ``i``'s
episodes with checkpoint ``i`` (simapp ``training_worker.py``: "save initial checkpoint";
``rollout_worker.py`` waits for ``last_checkpoint + 1``). ``steps`` is the total environment
steps before it. ``deepracer_checkpoints.json`` points at the best and the last::

    {"best_checkpoint": {"name": ..., "avg_eval_metric": ..., "time_stamp": ...},
     "last_checkpoint": {...}}

(``avg_eval_metric`` = mean evaluation progress %, ``time_stamp`` = simulated seconds; a run
folder's entries also carry ``avg_lap_time``). ``.coach_checkpoint`` holds one line, the name of
the checkpoint the model stands for. The strict readers raise
:class:`~deepracer_sim.errors.CheckpointError`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from deepracer_sim.errors import CheckpointError
from deepracer_sim.formats.files import atomic_write_text
from deepracer_sim.formats.jsonio import jsonable
from deepracer_sim.formats.problems import (
    UNREADABLE,
    WARNING,
    Problem,
    is_number,
    load_json,
    read_json,
)
from deepracer_sim.formats.run_folder import (
    CHECKPOINT_STEP,
    CHECKPOINT_SUFFIX,
    CHECKPOINTS_JSON,
    SB3_SUFFIX,
    STATE_DICT_SUFFIX,
    TF_SUFFIXES,
    RunFolder,
)

#: ``<iteration>_Step-<steps>.ckpt``: DeepRacer's checkpoint name (spec §6.1).
CHECKPOINT_NAME = re.compile(rf"^(\d+){CHECKPOINT_STEP}(\d+){re.escape(CHECKPOINT_SUFFIX)}$")
#: The two entries of deepracer_checkpoints.json.
BEST = "best_checkpoint"
LAST = "last_checkpoint"
#: How a misnamed checkpoint should look.
NAME_EXAMPLE = f"13{CHECKPOINT_STEP}25173{CHECKPOINT_SUFFIX}"
NAME_PATTERN = f"<iteration>{CHECKPOINT_STEP}<steps>{CHECKPOINT_SUFFIX}"


# --------------------------------------------------------------------------------------------
# names

def run_checkpoint_name(number: int, steps: int) -> str:
    """``<number>_Step-<steps>.zip``: a run folder's checkpoint file (module docstring)."""
    return f"{number}{CHECKPOINT_STEP}{steps}{SB3_SUFFIX}"


#: ``<N>_Step-<steps>.zip``: a run folder's checkpoint file.
RUN_CHECKPOINT_NAME = re.compile(rf"^(\d+){CHECKPOINT_STEP}(\d+){re.escape(SB3_SUFFIX)}$")


def run_checkpoint_parts(name: str) -> tuple[int, int] | None:
    """(number, steps) of a run checkpoint file name ``<N>_Step-<steps>.zip``, else None."""
    m = RUN_CHECKPOINT_NAME.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def checkpoint_stem(run_name: str) -> str:
    """``3_Step-4096.zip`` -> ``3_Step-4096.ckpt`` (the exported name).

    Raises:
        CheckpointError: a name that is not ``<iteration>_Step-<steps>.zip``.
    """
    stem = run_name.removesuffix(SB3_SUFFIX)
    name = f"{stem}{CHECKPOINT_SUFFIX}"
    if not CHECKPOINT_NAME.match(name):
        raise CheckpointError(f"checkpoint {run_name!r} is not named "
                              f"<iteration>{CHECKPOINT_STEP}<steps>{SB3_SUFFIX}")
    return name


def checkpoint_iteration(name: str) -> int:
    """The iteration of an exported checkpoint name (``3_Step-4096.ckpt`` -> 3).

    Raises:
        CheckpointError: not ``<iteration>_Step-<steps>.ckpt``.
    """
    m = CHECKPOINT_NAME.match(name)
    if m is None:
        raise CheckpointError(f"{name!r} is not {NAME_PATTERN}")
    return int(m.group(1))


def checkpoint_files(model_dir: Path, name: str) -> tuple[list[str], str | None]:
    """(the files of exported checkpoint ``name`` in ``model_dir``, its format: "tf" for
    DeepRacer's TensorFlow files, "sb3" for ours, None for neither)."""
    files = sorted(p.name for p in model_dir.glob(name + ".*") if p.is_file())
    if all(name + s in files for s in TF_SUFFIXES):
        return files, "tf"
    if name + SB3_SUFFIX in files or name + STATE_DICT_SUFFIX in files:
        return files, "sb3"
    return files, None


def run_checkpoint_files(model_dir: Path) -> list[str]:
    """The run checkpoint files (``<iteration>_Step-<steps>.zip``) in ``model_dir``, by
    iteration."""
    found = []
    for p in Path(model_dir).glob(f"*{CHECKPOINT_STEP}*{SB3_SUFFIX}"):
        m = CHECKPOINT_NAME.match(p.name.removesuffix(SB3_SUFFIX) + CHECKPOINT_SUFFIX)
        if m and p.is_file():
            found.append((int(m.group(1)), p.name))
    return [name for _, name in sorted(found)]


def pick_hint(model_dir: Path, option: str = "--checkpoint") -> str:
    """How to pick a checkpoint by hand: the run checkpoint files in ``model_dir`` and the
    ``option`` that picks one by checkpoint number (or that there are none)."""
    files = run_checkpoint_files(model_dir)
    if not files:
        return f"{model_dir} holds no checkpoint file (<iteration>{CHECKPOINT_STEP}<steps>" \
               f"{SB3_SUFFIX})"
    shown = ", ".join(files[-6:]) + (f" and {len(files) - 6} more" if len(files) > 6 else "")
    iteration = files[-1].split(CHECKPOINT_STEP)[0]
    return (f"{model_dir} holds {shown}: pick one with {option} N (its checkpoint number, e.g. "
            f"{option} {iteration})")


# --------------------------------------------------------------------------------------------
# deepracer_checkpoints.json

def read_checkpoints_json(path: Path, missing: str | None = None) -> dict:
    """The object of a ``deepracer_checkpoints.json`` (strict).

    Raises:
        CheckpointError: a missing file (``missing`` ends the message; by default it says
            whether the folder holds checkpoint files and how to pick one), invalid JSON or not
            an object (the message lists the checkpoint files and how to pick one).
    """
    path = Path(path)
    if missing is None:
        missing = f": {missing_pointer(path.parent)}"
    fix = f"; the file is damaged (cut short while it was written?); fix: {pick_hint(path.parent)}"
    info = read_json(path, CheckpointError, missing, fix)
    if not isinstance(info, dict):
        raise CheckpointError(f"{path}: expected a JSON object; fix: {pick_hint(path.parent)}")
    return info


def missing_pointer(model_dir: Path, option: str = "--checkpoint") -> str:
    """Why a run has no ``deepracer_checkpoints.json``: no checkpoint saved yet, or the pointer
    is missing beside checkpoint files (which, and how to pick one with ``option``)."""
    if not run_checkpoint_files(model_dir):
        return "the run saved no checkpoint yet"
    return (f"the pointer to the best and last checkpoints is missing (training stopped before "
            f"writing it?), but {pick_hint(model_dir, option)}")


def entry_name(info: dict, key: str) -> str | None:
    """``info[key]["name"]`` if it is a string, else None."""
    entry = info.get(key)
    name = entry.get("name") if isinstance(entry, dict) else None
    return name if isinstance(name, str) else None


def best_and_last(info: dict, path: Path) -> tuple[dict, dict]:
    """The best and the last entries (a missing best is the last).

    Raises:
        CheckpointError: either has no name.
    """
    last = info.get(LAST)
    best = info.get(BEST) or last
    if not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in (best, last)):
        raise CheckpointError(f"{path}: no {BEST}/{LAST} names; pick a checkpoint by its "
                              "number (--checkpoint N)")
    assert isinstance(best, dict) and isinstance(last, dict)
    return best, last


def write_checkpoints_json(path: Path, best: dict, last: dict, indent: int | None = None) -> None:
    """Write ``{"best_checkpoint": best, "last_checkpoint": last}`` (non-finite numbers as
    null) and a newline, atomically (a reader sees the old pointer or the new one)."""
    info = {BEST: best, LAST: last}
    atomic_write_text(path, json.dumps(jsonable(info), indent=indent) + "\n")


def checkpoint_name(run: RunFolder, which: str) -> str:
    """The file name of a run's checkpoint "best", "last", or a name or checkpoint number
    (``N`` of ``N_Step-<steps>.zip``; 0 is the untrained policy).

    Raises:
        RunFolderError (CheckpointError): no such checkpoint, or no deepracer_checkpoints.json.
    """
    if which in ("best", "last"):
        if not run.checkpoints_json.is_file():
            raise CheckpointError(f"{run.checkpoints_json} is missing: "
                                  f"{missing_pointer(run.model_dir)}")
        info = read_checkpoints_json(run.checkpoints_json)
        name = entry_name(info, f"{which}_checkpoint") or entry_name(info, LAST)
        if name is None:
            raise CheckpointError(f"{run.checkpoints_json}: no {which}_checkpoint name; "
                                  f"fix: {pick_hint(run.model_dir)}")
        return name
    if which.isdigit():
        found = sorted(run.model_dir.glob(f"{which}{CHECKPOINT_STEP}*{SB3_SUFFIX}"))
        if found:
            return found[0].name
    if (run.model_dir / which).is_file():
        return which
    raise CheckpointError(f"no checkpoint {which!r} in {run.model_dir}; {pick_hint(run.model_dir)}")


def _check_entry(info: dict, key: str, where: str) -> tuple[list[Problem], str | None]:
    entry = info.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return [Problem(where, f"no {key}.name", f'add "{key}": {{"name": '
                        f'"<N>{CHECKPOINT_STEP}<S>{CHECKPOINT_SUFFIX}", "avg_eval_metric": ..., '
                        '"time_stamp": ...}', field=key)], None
    metric = entry.get("avg_eval_metric")
    field = f"{key}.avg_eval_metric"
    if metric is None:
        return [Problem(where, f"{field} is missing or null (the checkpoint was never "
                        "evaluated)", "evaluate it or export another checkpoint", WARNING,
                        field)], entry["name"]
    if not is_number(metric):
        return [Problem(where, f"{field} = {metric!r} is not a number",
                        "write the mean evaluation progress, %", field=field)], entry["name"]
    return [], entry["name"]


def check_checkpoints_json(path: Path, where: str = CHECKPOINTS_JSON
                           ) -> tuple[list[Problem], list[tuple[str, str]]]:
    """(problems, [(where, checkpoint name)] of the best and last entries) of an exported
    ``deepracer_checkpoints.json``; the names are checked by the caller against the files."""
    info, problems = load_json(path, where)
    if info is UNREADABLE:
        return problems, []
    if not isinstance(info, dict):
        return [Problem(where, "not a JSON object",
                        f'write {{"{BEST}": {{...}}, "{LAST}": {{...}}}}')], []
    named = []
    for key in (BEST, LAST):
        found, name = _check_entry(info, key, where)
        problems += found
        if name is not None:
            named.append((f"{where} {key}", name))
    return problems, named


# --------------------------------------------------------------------------------------------
# .coach_checkpoint

def write_coach_checkpoint(path: Path, name: str) -> None:
    """Write ``.coach_checkpoint``: the checkpoint name, no newline (as DeepRacer's)."""
    atomic_write_text(path, name)


def read_coach_checkpoint(path: Path) -> str:
    """The checkpoint name in ``.coach_checkpoint`` (strict).

    Raises:
        CheckpointError: a missing file, or a name that is not ``<iteration>_Step-<steps>.ckpt``.
    """
    if not Path(path).is_file():
        raise CheckpointError(f"{path}: file not found")
    name = Path(path).read_text(errors="replace").strip()
    if not CHECKPOINT_NAME.match(name):
        raise CheckpointError(f"{path}: {name!r} is not {NAME_PATTERN}")
    return name


def check_coach_checkpoint(path: Path, where: str) -> tuple[list[Problem], str | None]:
    """(problems, the name it holds or None) of a ``.coach_checkpoint``; the name is checked
    by the caller with the other names (:func:`check_checkpoint_name`)."""
    lines = [ln.strip() for ln in Path(path).read_text(errors="replace").splitlines()
             if ln.strip()]
    problems = []
    if len(lines) != 1:
        problems.append(Problem(where, f"{len(lines)} lines",
                                f"write exactly one line: {NAME_PATTERN}"))
    return problems, (lines[0] if lines else None)


def check_checkpoint_name(name: str, where: str) -> list[Problem]:
    """A problem if ``name`` is not ``<iteration>_Step-<steps>.ckpt``."""
    if CHECKPOINT_NAME.match(name):
        return []
    return [Problem(where, f"{name!r} is not named {NAME_PATTERN}",
                    f"rename the checkpoint files and this entry, e.g. {NAME_EXAMPLE}")]


def misnamed_checkpoint_file(file_name: str) -> bool:
    """Whether ``file_name`` is a checkpoint file (``*.ckpt.*``) with a prefix that is not
    ``<iteration>_Step-<steps>.ckpt``."""
    m = re.match(rf"^(.*{re.escape(CHECKPOINT_SUFFIX)})\.", file_name)
    return m is not None and not CHECKPOINT_NAME.match(m.group(1))
