"""The structure the README's "How it is built" describes, checked on the
tree itself: every C file belongs to one layer (platforms/base, platforms,
runtime, kernel); an #include never points to a higher layer; the modules
of one folder include each other without a loop; and the README names
every module there is (and none that is gone).

    /usr/bin/python3 -m pytest -q tests/structure
"""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAYERS = ["platforms/base", "platforms", "runtime", "kernel"]  # lowest first
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_files():
    """{layer: {module: [paths]}} for every .c and .h of the four layers."""
    found = {}
    for layer in LAYERS:
        folder = ROOT / layer
        modules = {}
        for path in sorted(folder.glob("*.[ch]")):
            modules.setdefault(path.stem, []).append(path)
        found[layer] = modules
    return found


FILES = layer_files()
HEADER_LAYER = {f"{module}.h": layer for layer, modules in FILES.items() for module, paths in modules.items()
                if any(p.suffix == ".h" for p in paths)}


def includes(path):
    return INCLUDE.findall(path.read_text())


def test_every_header_name_is_unique_across_layers():
    seen = {}
    for layer, modules in FILES.items():
        for module, paths in modules.items():
            for path in paths:
                if path.suffix == ".h":
                    assert path.name not in seen, f"{path.name} is in both {seen[path.name]} and {layer}"
                    seen[path.name] = layer


@pytest.mark.parametrize("layer", LAYERS)
def test_no_include_points_to_a_higher_layer(layer):
    rank = LAYERS.index(layer)
    wrong = []
    for module, paths in FILES[layer].items():
        for path in paths:
            for header in includes(path):
                target = HEADER_LAYER.get(header)
                if target is not None and LAYERS.index(target) > rank:
                    wrong.append(f"{path.relative_to(ROOT)} includes {header} from {target}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("layer", LAYERS)
def test_no_loop_between_the_modules_of_a_folder(layer):
    modules = FILES[layer]
    edges = {}
    for module, paths in modules.items():
        targets = set()
        for path in paths:
            for header in includes(path):
                other = header[:-2]
                if header.endswith(".h") and other != module and other in modules:
                    targets.add(other)
        edges[module] = targets
    visiting, done, loops = set(), set(), []

    def visit(module, trail):
        if module in done:
            return
        if module in visiting:
            loops.append(" -> ".join(trail[trail.index(module):] + [module]))
            return
        visiting.add(module)
        for other in sorted(edges[module]):
            visit(other, trail + [module])
        visiting.discard(module)
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert not loops, f"{layer}: modules include each other in a loop:\n" + "\n".join(loops)


def built_section():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## How it is built\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md has no '## How it is built' section"
    return match.group(1)


def test_the_readme_names_every_module():
    section = built_section()
    missing = [f"{layer}/{module}" for layer, modules in FILES.items() for module in modules
               if not re.search(rf"`{re.escape(module)}`", section)]
    assert not missing, "README's 'How it is built' does not describe: " + ", ".join(missing)


def test_the_readme_names_no_module_that_is_gone():
    section = built_section()
    table = re.findall(r"^\| `([a-z_/]+)/` \|(.*)$", section, re.M)
    assert table, "the module table of 'How it is built' is missing"
    gone = []
    for folder, cell in table:
        if folder not in FILES:
            continue
        for name in re.findall(r"`([a-z_0-9]+)`", cell):
            if name not in FILES[folder]:
                gone.append(f"{folder}/{name}")
    assert not gone, "README's 'How it is built' names modules that do not exist: " + ", ".join(gone)
