"""``reward_function.py`` as a file of a model folder: the static checks ``--check`` makes.

What DeepRacer-on-AWS stores: UTF-8 Python text of at most
:data:`~deepracer_sim.constants.MAX_REWARD_FUNCTION_CHARS` characters defining a top-level
``reward_function(params)`` with one argument. (Loading and running it is
:mod:`deepracer_sim.reward`'s; the console's full validator is the reward lab's ``check``.)
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from deepracer_sim.constants import MAX_REWARD_FUNCTION_CHARS
from deepracer_sim.formats.problems import WARNING, Problem

#: The function DeepRacer calls.
FUNCTION_NAME = "reward_function"


def check_reward_file(path: str | os.PathLike, where: str | None = None) -> list[Problem]:
    """Every problem of a reward file: not UTF-8, a syntax error (with its line), no top-level
    ``def reward_function(params)`` or one with another number of arguments, or too long
    (a warning)."""
    where = where or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [Problem(where, "not UTF-8 text", "save the file as UTF-8")]
    try:
        tree = ast.parse(text, filename=where)
    except SyntaxError as exc:
        return [Problem(where, f"line {exc.lineno}: syntax error: {exc.msg}",
                        "fix the Python syntax")]
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == FUNCTION_NAME]
    out = []
    if not funcs:
        out.append(Problem(where, f"no top-level def {FUNCTION_NAME}(params)",
                           f"define {FUNCTION_NAME}(params) returning a float"))
    elif len(funcs[0].args.args) != 1:
        out.append(Problem(where, f"{FUNCTION_NAME} must take exactly one argument (params)",
                           f"write def {FUNCTION_NAME}(params):"))
    if len(text) > MAX_REWARD_FUNCTION_CHARS:
        out.append(Problem(where, f"{len(text)} characters", "DeepRacer-on-AWS accepts at most "
                           f"{MAX_REWARD_FUNCTION_CHARS} characters: shorten it", WARNING))
    return out
