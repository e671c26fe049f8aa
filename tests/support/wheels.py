"""Wheels made in the test, for the dependency tests (no package index here):
a wheel is a zip holding the package's files and NAME-VERSION.dist-info
with METADATA, WHEEL (its tags) and RECORD (each file's sha256 and size).
A folder of them is what PIP_FIND_LINKS names, with PIP_NO_INDEX=1.
"""
import base64
import hashlib
import pathlib
import zipfile


def make_wheel(folder, name, version, files, tag="py3-none-any", requires=(), compress=True):
    """Writes NAME-VERSION-TAG.whl into FOLDER holding FILES ({path: text or
    bytes}); REQUIRES are Requires-Dist lines. Returns its path."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    python, abi, platform = tag.split("-")
    wheel = (f"Wheel-Version: 1.0\nGenerator: faaset-tests\nRoot-Is-Purelib: {str(platform == 'any').lower()}\n"
             f"Tag: {tag}\n")
    entries = {path: (data.encode() if isinstance(data, str) else data) for path, data in files.items()}
    entries[f"{dist}/METADATA"] = metadata.encode()
    entries[f"{dist}/WHEEL"] = wheel.encode()
    record = []
    for path, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    entries[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"{name}-{version}-{tag}.whl"
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return path


def wheelhouse(folder):
    """The tests' packages: greetlib (pure Python, needs native_probe) and
    native_probe, one wheel per Linux machine whose module says which it is."""
    make_wheel(folder, "greetlib", "1.0", {"greetlib/__init__.py": "def greet(name):\n    return 'Hello ' + name\n"},
               requires=["native_probe"])
    for machine in ("x86_64", "aarch64"):
        make_wheel(folder, "native_probe", "2.0", {"native_probe/__init__.py": f"MACHINE = {machine!r}\n"},
                   tag=f"py3-none-manylinux2014_{machine}")
    return pathlib.Path(folder)


# A stand-in for PyPI's tabulate 0.9.0, for notebooks/quickstart.ipynb's dependencies cell: the one call it
# makes, tabulate(rows, headers), laid out as tabulate's default "simple" format lays it out (columns two
# spaces apart and at least two wider than their header, text left-aligned, numbers right-aligned, a dashed
# rule under the headers).
TABULATE = '''def tabulate(rows, headers=()):
    table = [[str(v) for v in headers]] + [[str(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(table[0]))]
    widths = [max([len(table[0][i]) + 2] + [len(row[i]) for row in table[1:]]) for i in range(len(table[0]))]
    def line(row):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(row, widths, numeric)).rstrip()
    return "\\n".join([line(table[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in table[1:]])
'''


def quickstart_wheelhouse(folder):
    """The packages notebooks/quickstart.ipynb asks for, made here (there is no package index)."""
    make_wheel(folder, "tabulate", "0.9.0", {"tabulate/__init__.py": TABULATE})
    return pathlib.Path(folder)
