"""Stage 1 of ``deepracer-sim reward check``: the static rules of DeepRacer's reward-function
validator (spec §1.1; SIM ``docker/files/ml-code/reward_func_validator/``).

Syntax; flake8 E1/E7/E9/F (:mod:`deepracer_sim.reward_lab.lint`); imports only from
:data:`ALLOWED_IMPORTS`; no call of the :data:`FORBIDDEN_BUILTINS`; none of the
:data:`FORBIDDEN_SUBSTRINGS` anywhere in the text (comments included); no import inside a
function. The validator's builtin scan also crashes (and so rejects the file) on an attribute of
anything but a name or a call, e.g. ``params["waypoints"][0].index`` or ``"{}".format(x)``:
reported as an error too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from deepracer_sim.reward_lab.check.report import ERROR, Finding
from deepracer_sim.reward_lab.lint import LintResult, lint

#: Modules the validator lets a reward file import (top-level package names).
ALLOWED_IMPORTS = ("math", "random", "numpy", "scipy", "shapely")
#: Builtins the validator rejects when called (``FORBID_ACCESS``).
FORBIDDEN_BUILTINS = ("open", "exec", "eval", "compile", "input")
#: Substrings the validator rejects anywhere in the file (``FORBID_STRINGS``).
FORBIDDEN_SUBSTRINGS = ("__import__", "load", "fromfile", "genfromtxt", "loadtxt", "tofile",
                        "savez", "save", "savetxt", "memmap")


def _validator_chain(node: ast.AST, found: list, crashes: list) -> list[str] | None:
    """The validator's ``_parse_chain``: the dotted name of a call/attribute chain, or None
    where the validator's ``".".join`` then fails."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Call):
        for arg in node.args:
            _validator_scan(arg, found, crashes)
        return _validator_chain(node.func, found, crashes)
    if isinstance(node, ast.Attribute):
        base = _validator_chain(node.value, found, crashes)
        return None if base is None else [*base, node.attr]
    return None


def _validator_scan(node: ast.AST, found: list, crashes: list) -> None:
    """The validator's ``parse``: collect the dotted names of calls and attributes."""
    if isinstance(node, (ast.Call, ast.Attribute)):
        chain = _validator_chain(node, found, crashes)
        if chain is None:
            crashes.append(node)
        else:
            found.append((".".join(chain), getattr(node, "lineno", None)))
        return
    for name in getattr(node, "_fields", ()):
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    _validator_scan(item, found, crashes)
        elif isinstance(value, ast.AST):
            _validator_scan(value, found, crashes)


def static_checks(path: Path, source: str, lint_backend: str = "auto") -> tuple[list[Finding],
                                                                                  str, bool]:
    """Stage 1. Returns (findings, lint backend description, syntax ok)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        text = (exc.text or "").strip()
        return [Finding(ERROR, "syntax-error", f"{type(exc).__name__}: {exc.msg}"
                        + (f": {text}" if text else ""), exc.lineno)], "", False
    result = lint(path, source, lint_backend)
    out = _lint_findings(result)
    out += _import_findings(tree)
    out += _imports_in_functions(tree)
    out += _builtin_findings(tree, source)
    out += _substring_findings(source)
    return out, result.backend, True


def _lint_findings(result: LintResult) -> list[Finding]:
    """The linter's messages: the validator rejects the file for any of them."""
    out = []
    for m in result.messages:
        if m.code == "E999":
            out.append(Finding(ERROR, "syntax-error", m.text, m.line))
            continue
        out.append(Finding(ERROR, f"flake8-{m.code}", f"{m.code} {m.text} (the validator runs "
                           "flake8 and rejects the file for any E1/E7/E9/F message)", m.line))
    return out


def _import_findings(tree: ast.Module) -> list[Finding]:
    """Imports outside :data:`ALLOWED_IMPORTS` (the validator's Analyzer: the top-level package
    of every import) and relative imports."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.module is None or node.level:
                out.append(Finding(ERROR, "illegal-import", "relative import: the validator "
                                   "accepts only imports from " + ", ".join(ALLOWED_IMPORTS),
                                   node.lineno))
                continue
            names = [node.module]
        else:
            continue
        bad = sorted({n.split(".")[0] for n in names} - set(ALLOWED_IMPORTS))
        if bad:
            out.append(Finding(ERROR, "illegal-import", f"import of {', '.join(bad)}: the "
                               "validator allows only " + ", ".join(ALLOWED_IMPORTS),
                               node.lineno))
    return out


def _imports_in_functions(tree: ast.Module) -> list[Finding]:
    """Imports inside functions (the validator calls the function with __import__ disabled)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    out.append(Finding(ERROR, "import-in-function", "import inside a function: "
                                       "the validator calls reward_function with imports "
                                       "disabled ('Import should be put at the top of file')",
                                       inner.lineno))
    return out


def _builtin_findings(tree: ast.Module, source: str) -> list[Finding]:
    """Calls of forbidden builtins, and the expressions the validator's scan crashes on (its
    ``parse``/``_parse_chain``; the first five)."""
    out = []
    found: list[tuple[str, int | None]] = []
    crashes: list[ast.AST] = []
    _validator_scan(tree, found, crashes)
    for name, line in found:
        if name in FORBIDDEN_BUILTINS:
            out.append(Finding(ERROR, "forbidden-builtin", f"use of the builtin {name}(): "
                               f"the validator forbids {', '.join(FORBIDDEN_BUILTINS)}", line))
    for node in crashes[:5]:
        seg = ast.get_source_segment(source, node) or type(node).__name__
        seg = seg if len(seg) <= 60 else seg[:57] + "..."
        out.append(Finding(ERROR, "validator-crash", f"the validator's builtin scan fails on "
                           f"`{seg}` (an attribute of a {_base_kind(node)}, not of a name: "
                           "'can only join an iterable'); assign the value to a variable "
                           "first", getattr(node, "lineno", None)))
    return out


def _substring_findings(source: str) -> list[Finding]:
    """Forbidden substrings anywhere in the text, comments and strings included (the longest
    match only: "savetxt" contains "save")."""
    out = []
    for n, text in enumerate(source.splitlines(), 1):
        hits = [s for s in FORBIDDEN_SUBSTRINGS if s in text]
        hits = [s for s in hits if not any(s != o and s in o for o in hits)]
        for s in hits:
            words = sorted(set(re.findall(rf"\w*{re.escape(s)}\w*", text)))
            out.append(Finding(ERROR, "forbidden-string", f"contains {s!r} (in "
                               f"{', '.join(words) or s!r}): the validator rejects any file "
                               f"whose text contains it, even in a comment or a string", n))
    return out


def _base_kind(node: ast.AST) -> str:
    while isinstance(node, (ast.Attribute, ast.Call)):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return {ast.Subscript: "subscript", ast.Constant: "literal", ast.BinOp: "expression",
            ast.List: "list", ast.Dict: "dict", ast.Tuple: "tuple"}.get(type(node),
                                                                         type(node).__name__)

