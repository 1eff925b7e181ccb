"""The lint step of DeepRacer's reward-function validator.

The validator (SIM ``docker/files/ml-code/reward_func_validator/test_reward_function.py``,
``run_flake8``) runs ``flake8 --select=E,F --ignore=E2,E3,E4,E5,W,F401,F841`` on the file
(flake8 7.3.0) and rejects the file for any message. Passing ``--ignore`` replaces flake8's
default ignore list, so what remains is: E1 (indentation, including the continuation-line
rules E12x), E7 (statements: ``if x: y`` on one line, ``== None``, bare ``except:``,
``l = ...`` ...), E9 (syntax errors) and every pyflakes F message except unused imports and
unused local variables (e.g. F821 undefined name, F541 f-string without placeholders).

:func:`lint` runs flake8 with exactly those options when it is installed (``pip install
flake8==7.3.0``). Without it, a built-in subset is checked (:data:`BUILTIN_CODES`): the
messages racers meet most, but not the continuation-line rules E12x or the rarer pyflakes
messages; the result says which was used.
"""

from __future__ import annotations

import ast
import builtins
import importlib.metadata
import importlib.util
import io
import re
import subprocess
import symtable
import sys
import tokenize
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: flake8's options in the validator.
FLAKE8_ARGS = ("--select=E,F", "--ignore=E2,E3,E4,E5,W,F401,F841")
#: The version the validator pins (``requirements.txt``).
FLAKE8_VERSION = "7.3.0"

#: What the built-in checker reports when flake8 is not installed.
BUILTIN_CODES = ("E101", "E111", "E112", "E113", "E114", "E115", "E116", "E117", "E701", "E702",
                 "E703", "E704", "E711", "E712", "E713", "E714", "E721", "E722", "E731", "E741",
                 "E742", "E743", "E999", "F403", "F541", "F632", "F706", "F811", "F821")


@dataclass(frozen=True)
class LintMessage:
    """One linter message: code (e.g. ``E701``), 1-based line, message text."""

    code: str
    line: int
    text: str


@dataclass
class LintResult:
    messages: list[LintMessage]
    backend: str  # "flake8 X.Y.Z" or "built-in subset"
    exact: bool  # True when flake8 itself ran


def flake8_available() -> bool:
    return importlib.util.find_spec("flake8") is not None


def lint(path: str | Path, source: str | None = None, backend: str = "auto") -> LintResult:
    """Lint a reward file as the validator does.

    Args:
        path: the file.
        source: its text (read from ``path`` when None).
        backend: "auto" (flake8 if installed, else built-in), "flake8" or "builtin".
    """
    path = Path(path)
    if source is None:
        source = path.read_text(encoding="utf-8", errors="replace")
    if backend == "flake8" or (backend == "auto" and flake8_available()):
        result = _run_flake8(path)
        if result is not None:
            return result
    return LintResult(builtin_lint(source), "built-in subset", False)


def _run_flake8(path: Path) -> LintResult | None:
    cmd = [sys.executable, "-m", "flake8", "--isolated", "--format=%(code)s:%(row)d:%(text)s",
           *FLAKE8_ARGS, str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode not in (0, 1):
        return None
    messages = []
    for line in proc.stdout.splitlines():
        m = re.match(r"([A-Z]\d+):(\d+):(.*)$", line.strip())
        if m:
            messages.append(LintMessage(m.group(1), int(m.group(2)), m.group(3).strip()))
    try:
        name = f"flake8 {importlib.metadata.version('flake8')}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        name = "flake8"
    return LintResult(messages, name, True)


# ---------------------------------------------------------------------------------------------
# built-in subset


def builtin_lint(source: str) -> list[LintMessage]:
    """The built-in subset of the validator's flake8 rules (:data:`BUILTIN_CODES`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
            compile(source, "<reward>", "exec")
    except SyntaxError as exc:
        kind = type(exc).__name__
        return [LintMessage("E999", exc.lineno or 1, f"{kind}: {exc.msg}")]
    out: list[LintMessage] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError) as exc:  # pragma: no cover - compile() caught it
        return [LintMessage("E999", 1, f"TokenError: {exc}")]
    out += _indentation(source, tokens)
    out += _statements(tokens)
    out += _ast_checks(tree)
    out += _undefined_names(source, tree)
    return sorted(set(out), key=lambda m: (m.line, m.code))


def _expand_indent(text: str) -> int:
    """pycodestyle's expand_indent: tabs to the next multiple of 8."""
    text = text.rstrip("\n\r")
    width = 0
    for ch in text:
        if ch == "\t":
            width = width // 8 * 8 + 8
        elif ch == " ":
            width += 1
        else:
            break
    return width


def _logical_lines(tokens: list[tokenize.TokenInfo]
                   ) -> Iterator[tuple[int, list[tokenize.TokenInfo], bool]]:
    """Yield (first line number, token list, is comment-only) per logical line."""
    current: list[tokenize.TokenInfo] = []
    for tok in tokens:
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
                        tokenize.ENDMARKER):
            continue
        if tok.type == tokenize.NL and not current:
            continue
        if tok.type == tokenize.NL and all(t.type == tokenize.COMMENT for t in current):
            yield current[0].start[0], current, True
            current = []
            continue
        if tok.type == tokenize.NEWLINE:
            if current:
                yield current[0].start[0], current, False
            current = []
            continue
        if tok.type == tokenize.NL:
            continue
        current.append(tok)
    if current:
        yield current[0].start[0], current, all(t.type == tokenize.COMMENT for t in current)


def _indentation(source: str, tokens) -> list[LintMessage]:
    """E101, E111-E117 (pycodestyle's ``indentation`` and ``tabs_or_spaces``)."""
    lines = source.splitlines()
    out = []
    indent_char = None
    for text in lines:
        m = re.match(r"([ \t]*)", text)
        if m and m.group(1) and text.strip():
            indent_char = m.group(1)[0]
            break
    for n, text in enumerate(lines, 1):
        indent = text[:len(text) - len(text.lstrip(" \t"))]
        if indent_char and text.strip() and any(ch != indent_char for ch in indent):
            out.append(LintMessage("E101", n, "indentation contains mixed spaces and tabs"))
    previous_level = 0
    previous_logical = ""
    for line_no, toks, comment_only in _logical_lines(tokens):
        level = _expand_indent(lines[line_no - 1]) if line_no <= len(lines) else 0
        c = 3 if comment_only else 0
        suffix = " (comment)" if comment_only else ""
        if level % 4:
            out.append(LintMessage(f"E11{1 + c}", line_no,
                                   f"indentation is not a multiple of 4{suffix}"))
        expect = previous_logical.endswith(":")
        if expect and level <= previous_level:
            out.append(LintMessage(f"E11{2 + c}", line_no, f"expected an indented block{suffix}"))
        elif not expect and level > previous_level:
            out.append(LintMessage(f"E11{3 + c}", line_no, f"unexpected indentation{suffix}"))
        if expect and level > previous_level + (8 if indent_char == "\t" else 4):
            out.append(LintMessage("E117", line_no, "over-indented"))
        if not comment_only:
            previous_level = level
            code = [t for t in toks if t.type != tokenize.COMMENT]
            previous_logical = code[-1].string if code else ""
    return out


_COMPOUND = {"if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def",
             "class", "async"}


def _statements(tokens) -> list[LintMessage]:
    """E701 (``if x: y``), E702 (``a; b``), E703 (trailing ``;``), E704 (one-line def)."""
    out = []
    for _, toks, comment_only in _logical_lines(tokens):
        if comment_only:
            continue
        code = [t for t in toks if t.type != tokenize.COMMENT]
        depth = 0
        lambdas = 0
        first = code[0].string if code else ""
        for k, tok in enumerate(code):
            s = tok.string
            if tok.type == tokenize.OP and s in "([{":
                depth += 1
            elif tok.type == tokenize.OP and s in ")]}":
                depth -= 1
            elif tok.type == tokenize.NAME and s == "lambda":
                lambdas += 1
            elif tok.type == tokenize.OP and s == ":" and depth == 0:
                if lambdas:
                    lambdas -= 1
                    continue
                if first in _COMPOUND and k + 1 < len(code):
                    if first in ("def", "async") and "def" in [t.string for t in code[:2]]:
                        out.append(LintMessage("E704", tok.start[0],
                                               "multiple statements on one line (def)"))
                    else:
                        out.append(LintMessage("E701", tok.start[0],
                                               "multiple statements on one line (colon)"))
                    break
            elif tok.type == tokenize.OP and s == ";" and depth == 0:
                if k + 1 < len(code):
                    out.append(LintMessage("E702", tok.start[0],
                                           "multiple statements on one line (semicolon)"))
                else:
                    out.append(LintMessage("E703", tok.start[0],
                                           "statement ends with a semicolon"))
    return out


_AMBIGUOUS = {"l", "O", "I"}


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return not (node.value is None or node.value is True or node.value is False
                    or node.value is Ellipsis)
    return isinstance(node, (ast.Tuple, ast.List, ast.Dict, ast.Set, ast.JoinedStr))


def _target_names(node: ast.AST | None) -> Iterator[ast.Name]:
    """The names an assignment target binds (through tuples, lists and starred targets)."""
    if isinstance(node, ast.Name):
        yield node
    elif isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            yield from _target_names(elt)
    elif isinstance(node, ast.Starred):
        yield from _target_names(node.value)


class _AstRules(ast.NodeVisitor):
    """The AST rules of :func:`_ast_checks`, one ``visit_*`` method per kind of node."""

    def __init__(self, tree: ast.Module) -> None:
        self.out: list[LintMessage] = []
        # f-strings nested in an f-string's format spec: not reported by F541
        self.in_fstring = {id(child) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                           for child in ast.walk(node)
                           if child is not node and isinstance(child, ast.JoinedStr)}

    def add(self, code: str, node: ast.AST, text: str) -> None:
        self.out.append(LintMessage(code, getattr(node, "lineno", 1), text))

    def ambiguous_targets(self, *targets: ast.AST | None) -> None:
        """E741 for each ambiguous name bound by ``targets``."""
        for target in targets:
            for name in _target_names(target):
                if name.id in _AMBIGUOUS:
                    self.add("E741", name, f"ambiguous variable name '{name.id}'")

    def visit_Compare(self, node: ast.Compare) -> None:
        """E711, E712, E721 (``==``/``!=`` with None, a bool, ``type()``) and F632 (``is``
        with a literal)."""
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=False):
            if isinstance(op, (ast.Eq, ast.NotEq)):
                for side in (left, right):
                    if isinstance(side, ast.Constant) and side.value is None:
                        self.add("E711", node, "comparison to None should be 'if cond is None:'")
                    elif isinstance(side, ast.Constant) and isinstance(side.value, bool):
                        self.add("E712", node, f"comparison to {side.value} should be "
                                               f"'if cond is {side.value}:' or 'if cond:'")
                if any(isinstance(s, ast.Call) and isinstance(s.func, ast.Name)
                       and s.func.id == "type" for s in (left, right)):
                    self.add("E721", node, "do not compare types, for exact checks use `is` / "
                                           "`is not`, for instance checks use `isinstance()`")
            if isinstance(op, (ast.Is, ast.IsNot)) and (_is_literal(left) or _is_literal(right)):
                self.add("F632", node, "use ==/!= to compare constant literals (str, bytes, int, "
                                       "float, tuple)")
            left = right
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        """E713 (``not x in y``), E714 (``not x is y``)."""
        if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Compare) and len(
                node.operand.ops) == 1:
            if isinstance(node.operand.ops[0], ast.In):
                self.add("E713", node, "test for membership should be 'not in'")
            elif isinstance(node.operand.ops[0], ast.Is):
                self.add("E714", node, "test for object identity should be 'is not'")
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        """E722 (bare ``except:``)."""
        if node.type is None:
            self.add("E722", node, "do not use bare 'except'")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        """E731 (a lambda assigned to a name), E741."""
        if isinstance(node.value, ast.Lambda) and all(isinstance(t, ast.Name)
                                                      for t in node.targets):
            self.add("E731", node, "do not assign a lambda expression, use a def")
        self.ambiguous_targets(*node.targets)
        self.generic_visit(node)

    def visit_target(self, node: ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor
                     | ast.comprehension | ast.NamedExpr) -> None:
        """E741 for the one target of an augmented, annotated, loop, comprehension or walrus
        assignment."""
        self.ambiguous_targets(node.target)
        self.generic_visit(node)

    visit_AugAssign = visit_AnnAssign = visit_For = visit_AsyncFor = visit_target
    visit_comprehension = visit_NamedExpr = visit_target

    def visit_withitem(self, node: ast.withitem) -> None:
        """E741 for ``with ... as name``."""
        self.ambiguous_targets(node.optional_vars)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        """F403 (``from x import *``)."""
        if any(a.name == "*" for a in node.names):
            self.add("F403", node, f"'from {node.module} import *' used; unable to detect "
                                   "undefined names")
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        """F541 (an f-string without placeholders)."""
        if id(node) not in self.in_fstring and not any(
                isinstance(v, ast.FormattedValue) for v in node.values):
            self.add("F541", node, "f-string is missing placeholders")
        self.generic_visit(node)

    def visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        """E741 (an ambiguous parameter), E743 (an ambiguous function name)."""
        args = node.args
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                  *([args.vararg] if args.vararg else []),
                  *([args.kwarg] if args.kwarg else [])]:
            if a.arg in _AMBIGUOUS:
                self.add("E741", a, f"ambiguous variable name '{a.arg}'")
        if not isinstance(node, ast.Lambda) and node.name in _AMBIGUOUS:
            self.add("E743", node, f"ambiguous function definition '{node.name}'")
        self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        """E742 (an ambiguous class name)."""
        if node.name in _AMBIGUOUS:
            self.add("E742", node, f"ambiguous class definition '{node.name}'")
        self.generic_visit(node)

    def visit_scope(self, node: ast.Global | ast.Nonlocal) -> None:
        """E741 for ``global l`` / ``nonlocal l``."""
        for name in node.names:
            if name in _AMBIGUOUS:
                self.add("E741", node, f"ambiguous variable name '{name}'")
        self.generic_visit(node)

    visit_Global = visit_Nonlocal = visit_scope


def _ast_checks(tree: ast.Module) -> list[LintMessage]:
    """E711-E714, E721, E722, E731, E741-E743, F403, F541, F632, F706, F811."""
    rules = _AstRules(tree)
    rules.visit(tree)
    return rules.out + _returns_outside_function(tree) + _redefinitions(tree)


def _returns_outside_function(tree: ast.Module) -> list[LintMessage]:
    out = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Return) and not in_function:
                out.append(LintMessage("F706", child.lineno, "'return' outside function"))
            visit(child, in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return out


def _loaded_names(node: ast.AST) -> set[str]:
    """Names loaded by a module-level statement outside nested function bodies (bodies run
    later; decorators, defaults and base classes run now)."""
    names: set[str] = set()

    def visit(n: ast.AST) -> None:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in [*n.decorator_list, *n.args.defaults, *n.args.kw_defaults]:
                if d is not None:
                    visit(d)
            return
        if isinstance(n, ast.Lambda):
            return
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            names.add(n.id)
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return names


def _redefinitions(tree: ast.Module) -> list[LintMessage]:
    """F811: a module-level def/class/import redefined before the first binding was used."""
    out = []
    bound: dict[str, int] = {}
    for stmt in tree.body:
        used = _loaded_names(stmt)
        for name in used:
            bound.pop(name, None)
        new: list[str] = []
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            new = [stmt.name]
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            new = [(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"]
        for name in new:
            if name in bound:
                out.append(LintMessage("F811", stmt.lineno, f"redefinition of unused '{name}' "
                                                            f"from line {bound[name]}"))
            bound[name] = stmt.lineno
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    bound.pop(node.id, None)
    return out


_MODULE_NAMES = {"__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__",
                 "__package__", "__path__", "__annotations__", "__dict__", "__module__",
                 "__qualname__", "__debug__", "__class__", "WindowsError"}


def _undefined_names(source: str, tree: ast.Module) -> list[LintMessage]:
    """F821: names used but bound nowhere (module scope, ``global`` declarations) and not
    builtins. Skipped when the module has a ``from X import *``."""
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
           for n in ast.walk(tree)):
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            top = symtable.symtable(source, "<reward>", "exec")
    except SyntaxError:  # pragma: no cover - compile() caught it
        return []
    defined = set(dir(builtins)) | _MODULE_NAMES
    for sym in top.get_symbols():
        if sym.is_assigned() or sym.is_imported() or sym.is_namespace() or sym.is_parameter():
            defined.add(sym.get_name())
    suspects: set[str] = set()

    def walk(table: symtable.SymbolTable) -> None:
        for sym in table.get_symbols():
            name = sym.get_name()
            if sym.is_declared_global() and sym.is_assigned():
                defined.add(name)
            if table.get_type() == "module":
                if sym.is_referenced() and not (sym.is_assigned() or sym.is_imported()
                                                or sym.is_namespace()):
                    suspects.add(name)
            elif sym.is_referenced() and sym.is_global():
                suspects.add(name)
        for child in table.get_children():
            walk(child)

    walk(top)
    missing = suspects - defined
    out = []
    if missing:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                    node.id in missing:
                out.append(LintMessage("F821", node.lineno, f"undefined name '{node.id}'"))
    return out
