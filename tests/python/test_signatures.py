"""What `help()` and editors show: real defaults, the same as the stubs declare."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import bittern

STUB = Path(bittern.__file__).with_name("_bittern.pyi")


def stub_defaults(class_name: str, method: str) -> dict[str, object]:
    """The literal defaults the stub gives a method's keyword parameters."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method:
                    args = item.args
                    named = args.kwonlyargs + args.args[len(args.args) - len(args.defaults):]
                    values = args.kw_defaults + args.defaults
                    return {
                        a.arg: ast.literal_eval(v)
                        for a, v in zip(named, values)
                        if v is not None and not (isinstance(v, ast.Constant) and v.value is Ellipsis)
                    }
    raise AssertionError(f"{class_name}.{method} is not in the stub")


def test_settings_show_their_real_defaults() -> None:
    for cls in (bittern.Session, bittern.Tracker):
        signature = inspect.signature(cls)
        shown = {name: p.default for name, p in signature.parameters.items() if p.default is not p.empty}
        assert Ellipsis not in shown.values(), (cls.__name__, shown)
        declared = stub_defaults(cls.__name__, "__new__")
        assert shown == declared, cls.__name__
    assert inspect.signature(bittern.Session).parameters["max_connections"].default == 200
    assert inspect.signature(bittern.Tracker).parameters["interval"].default == 1800
