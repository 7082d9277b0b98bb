"""tfrnn ships `py.typed`: every public function is annotated, and mypy finds no error in
tfrnn/ with the settings in pyproject.toml's [tool.mypy]."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parent.parent
PACKAGE = ROOT / "tfrnn"


def test_mypy_finds_no_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout


def public_functions(body, prefix=""):
    """`(qualified name, node, is_method)` of the public functions and methods in `body`.

    Public: a name without a leading underscore, or `__init__` / `__call__`. Methods
    of nested classes count; functions inside functions are implementation.
    """
    for node in body:
        if isinstance(node, ast.ClassDef):
            yield from public_functions(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not node.name.startswith("_") or node.name in ("__init__", "__call__"):
                yield f"{prefix}{node.name}", node, bool(prefix)


def missing_annotations(node, is_method):
    """What `node` leaves unannotated: parameter names, `return`, or `return (must be None)`."""
    args = node.args
    positional = args.posonlyargs + args.args
    is_static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
    if is_method and not is_static and positional:
        positional = positional[1:]  # self, or cls
    # *args and **kwargs too: tfrnn's pass Keras' arguments on, and say so with `Any`.
    params = positional + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a is not None]
    missing = [p.arg for p in params if p.annotation is None]
    if node.returns is None:
        missing.append("return")
    elif node.name == "__init__" and not (isinstance(node.returns, ast.Constant) and node.returns.value is None):
        missing.append("return (must be None)")
    return missing


def test_every_public_function_is_annotated():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(), filename=relative)
        for name, node, is_method in public_functions(tree.body):
            missing = missing_annotations(node, is_method)
            if missing:
                offenders.append(f"{relative}:{node.lineno} {name}: {', '.join(missing)}")
    assert not offenders, "Public functions without annotations:\n" + "\n".join(offenders)
