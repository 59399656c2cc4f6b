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


def first_sentence(text: str) -> str:
    """The text up to and including its first full stop followed by a space (or its end),
    whitespace normalised."""
    flat = " ".join(text.split())
    end = flat.find(". ")
    return flat if end < 0 else flat[: end + 1]


def stub_docstrings() -> list[tuple[str, object, str]]:
    """Every public class, function, method and property the stub gives a docstring: its
    dotted name, the runtime object and the docstring's first sentence."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    module = bittern._bittern
    found = []

    def visit(body: list[ast.stmt], owner: object, prefix: str) -> None:
        for node in body:
            if not isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                continue
            name = node.name
            if name.startswith("_") and name != "__new__":
                continue
            doc = ast.get_docstring(node, clean=True)
            # A constructor's text is the class's docstring at runtime.
            target = owner if name == "__new__" else getattr(owner, name)
            dotted = prefix + name
            if doc:
                found.append((dotted, target, first_sentence(doc)))
            if isinstance(node, ast.ClassDef):
                visit(node.body, target, dotted + ".")

    visit(tree.body, module, "")
    return found


def runtime_doc(obj: object) -> str:
    doc = obj.__doc__ if isinstance(obj, property) else getattr(obj, "__doc__", None)
    return " ".join((doc or "").split())


def test_runtime_docstrings_say_what_the_stub_says() -> None:
    checked = stub_docstrings()
    assert len(checked) > 50
    missing = [name for name, obj, sentence in checked if sentence not in runtime_doc(obj)]
    assert not missing, f"{len(missing)} of {len(checked)} runtime docstrings differ: {missing}"


# `...` where the default means "left out", which `None` cannot say: `None` removes a field
# (`replace`) or leaves it out of the torrent (`create`), and the stubs document both.
DELIBERATE_ELLIPSIS = {
    "Torrent.create": {"created_by", "creation_date"},
    "Torrent.replace": {
        "announce",
        "announce_list",
        "comment",
        "created_by",
        "creation_date",
        "url_list",
    },
}


def public_callables() -> list[tuple[str, object]]:
    module = bittern._bittern
    found = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if callable(obj):
            found.append((name, obj))
        if isinstance(obj, type) and obj.__module__ == "bittern" and not issubclass(obj, BaseException):
            for attr, value in vars(obj).items():
                if not attr.startswith("_") and callable(value):
                    found.append((f"{name}.{attr}", getattr(obj, attr)))
    return found


def test_no_ellipsis_defaults_but_the_deliberate_ones() -> None:
    checked = 0
    ellipses = {}
    for name, obj in public_callables():
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):
            continue
        checked += 1
        shown = {n for n, p in signature.parameters.items() if p.default is Ellipsis}
        if shown:
            ellipses[name] = shown
    assert checked > 30
    assert ellipses == DELIBERATE_ELLIPSIS


def test_create_shows_url_list_none_and_accepts_it(tmp_path: Path) -> None:
    assert inspect.signature(bittern.Torrent.create).parameters["url_list"].default is None
    (tmp_path / "a.txt").write_bytes(b"x" * 100)
    made = bittern.Torrent.create(tmp_path / "a.txt", url_list=None, creation_date=None)
    assert made.url_list == []
    assert made == bittern.Torrent.create(tmp_path / "a.txt", creation_date=None)
