"""Generate a standalone model.py from an architecture's graph.

Safety: only validated identifiers and plain numbers reach the generated source. Every value is checked
here (`literal`), never interpolated as given; anything else is an ExportError.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import HybridNASError
from ..models import modules
from ..ir.calls import Call
from ..spaces import Arch, Space

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # used with fullmatch: '$' would admit a trailing newline
PLACEHOLDER = "_hybridnas_model_name_placeholder"
ARCH_TEXT = re.compile(r"^[A-Za-z0-9_|:+*.~\-]+$")  # what Space.format produces; cannot close a string literal


class ExportError(HybridNASError):
    """An architecture or value cannot be exported safely."""


def identifier(name: Any, what: str) -> str:
    """`name` if it is a plain Python identifier (not a keyword), else ExportError."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or keyword.iskeyword(name):
        raise ExportError(f"{what} {name!r} is not a plain identifier (letters, digits, '_'); refusing to "
                          "write it into generated code")
    return name


def literal(value: Any, what: str) -> str:
    """Source text of a plain value: int, finite float, bool, None, identifier string, or tuple of these."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExportError(f"{what}: {value!r} is not a finite number")
        return repr(float(value))
    if isinstance(value, str):
        return repr(identifier(value, what))
    if isinstance(value, tuple):
        items = [literal(v, what) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    raise ExportError(f"{what}: {type(value).__name__} value {value!r} cannot be written into generated code")


def render_call(call: Call) -> str:
    """`Name(arg, ..., key=value)` for a Call whose name is a class in hybridnas.models.modules."""
    name = identifier(call.name, "module class")
    if name not in _definitions():
        raise ExportError(f"module class {name!r} is not defined in hybridnas.models.modules")
    render = lambda v: render_call(v) if isinstance(v, Call) else literal(v, f"argument of {name}")  # noqa: E731
    # readable form: the first two arguments by position, the rest by name, defaults left out
    bound = inspect.signature(getattr(modules, name)).bind(*call.args, **dict(call.kwargs))
    params = inspect.signature(getattr(modules, name)).parameters
    args = []
    for i, (key, value) in enumerate(bound.arguments.items()):
        default = params[key].default
        if i >= 2 and default is not inspect.Parameter.empty and type(value) is type(default) and value == default:
            continue
        args.append(render(value) if i < 2 else f"{identifier(key, 'keyword')}={render(value)}")
    return f"{name}({', '.join(args)})"


@lru_cache(maxsize=1)
def _definitions() -> dict[str, tuple[str, frozenset[str]]]:
    """Top-level functions and classes of modules.py: name -> (source, names it refers to)."""
    path = Path(modules.__file__)
    text = path.read_text()
    tree = ast.parse(text)
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            refs = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            out[node.name] = (ast.get_source_segment(text, node), refs)
    return out


def runtime_source(names: set[str]) -> str:
    """Imports plus the modules.py definitions `names` need (transitively), in their original order."""
    defs = _definitions()
    needed: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in needed or name not in defs:
            continue
        needed.add(name)
        todo.extend(defs[name][1])
    refs = set().union(*(defs[n][1] for n in needed))
    timm = sorted(n for n in ("Attention", "ConvMlp", "DropPath", "LayerNorm2d", "LayerScale2d") if n in refs)
    lines = ["import torch", "from torch import nn"]
    if timm:
        lines.append(f"from timm.layers import {', '.join(timm)}")
    body = [src for name, (src, _) in defs.items() if name in needed]
    return "\n".join(lines) + "\n\n\n" + "\n\n\n".join(body) + "\n"


def reserved_names(source: str) -> set[str]:
    """Names a generated file binds at module level or reads from builtins: a model name must be none of them."""
    import builtins

    names = set(dir(builtins))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names - {PLACEHOLDER}


def model_source(space: Space, arch: Arch, model_name: str, meta: dict[str, Any]) -> str:
    """The complete model.py for `arch`: runtime definitions, `build_model`, `load_model`, timm registration."""
    model_name = identifier(model_name, "model name")
    # written once with a placeholder name, so the names the file uses are known before the model's is put in
    source = _source_named(space, arch, PLACEHOLDER, meta)
    if model_name in reserved_names(source):
        raise ExportError(f"model name {model_name!r} is a name model.py already uses; choose another (names "
                          "in use include build_model, load_model, GraphNet, torch, nn, os and Python's builtins)")
    return source.replace(PLACEHOLDER, model_name)


def _source_named(space: Space, arch: Arch, model_name: str, meta: dict[str, Any]) -> str:
    text = space.format(arch)
    if not ARCH_TEXT.match(text):
        raise ExportError(f"architecture string {text!r} has characters other than letters, digits and _|:+*.~-")
    plan = space.plan(arch)
    steps, names = [], {"GraphNet"}
    for node in plan.nodes:
        node_name = identifier(node.name, "graph node")
        inputs = literal(tuple(identifier(i, "graph node") for i in node.inputs), "inputs")
        try:
            call = node.spec.call()
        except NotImplementedError as exc:
            raise ExportError(f"layer {node.name} ({node.spec.kind}) cannot be exported: {exc}; give its mixer a "
                              "`call` that names a class in hybridnas.models.modules") from None
        if call is not None:
            names |= call.names()
        steps.append(f"        ({literal(node_name, 'node')}, {inputs}, {render_call(call) if call else 'None'}),")
    c, h, w = space.input_shape
    header = [f'"""{model_name}: an architecture exported by hybridnas.', "",
              f"Space: {identifier(space.name, 'space name')}; input {c}x{h}x{w}; {space.num_classes} classes.",
              f"Architecture: {text}",
              f"MACs: {int(meta['macs'])}; parameters: {int(meta['params'])}.",
              "",
              "Standalone: needs torch and timm, imports nothing from hybridnas. `build_model()` returns the",
              "network (parameter names `layers.<node>.<...>`, as hybridnas's Space.build), `load_model()` the",
              "same with the weights of model.safetensors beside this file. Importing this file registers",
              f"`timm.create_model(\"{model_name}\")`.",
              '"""', ""]
    tail = f'''

ARCH = {text!r}
INPUT_SHAPE = {literal((c, h, w), "input shape")}
NUM_CLASSES = {literal(space.num_classes, "classes")}
WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.safetensors")


def build_model() -> GraphNet:
    """The network, freshly initialised."""
    steps = [
{chr(10).join(steps)}
    ]
    return GraphNet(steps, {literal(identifier(plan.last, "graph node"), "output")})


def load_model(weights: str = WEIGHTS, device: str = "cpu") -> GraphNet:
    """The network with the weights of a safetensors file (default: model.safetensors beside this file)."""
    from safetensors.torch import load_file

    model = build_model()
    model.load_state_dict(load_file(weights, device=device), strict=True)
    return model.to(device)


def _timm_entry(pretrained: bool = False, **kwargs) -> GraphNet:
    # timm's factory passes its own options (pretrained_cfg..., cache_dir); any real model argument is refused
    kwargs = {{k: v for k, v in kwargs.items() if v is not None and not k.startswith("pretrained_cfg")}}
    if kwargs:
        raise TypeError(f"{model_name} takes no model arguments, got {{sorted(kwargs)}}")
    return load_model() if pretrained else build_model()


try:
    from timm.models import register_model

    _timm_entry.__name__ = _timm_entry.__qualname__ = {model_name!r}
    {model_name} = register_model(_timm_entry)
except (ImportError, KeyError):  # no timm, or loaded without an entry in sys.modules (timm needs one)
    {model_name} = _timm_entry
'''
    return "\n".join(header) + "import os\n\n" + runtime_source(names) + tail
