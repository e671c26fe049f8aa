# FaaSET's own module names, importable in the notebook: `import FaaSET`,
# `import FaaSRunner`, `import FaaSETUI` and the paper's
# `from platforms.jupyter.interactive_helpers import *`.
#
# The kernel sends the sources of these modules in the boot frame's
# "library" (runtime/PROTOCOL.md); bootstrap.py does not run them, so a
# runtime that never imports them pays nothing at start-up. install() puts
# one finder first on sys.meta_path: it serves each public name from its
# source (compiled under `<faaset:SOURCE>`, registered with linecache for
# tracebacks) the first time it is imported, and the library's helper
# modules (faaset_compat) under their own names.
#
# The finder comes before the path finders on purpose: a FaaSET checkout in
# the notebook's folder (its FaaSET.py, its platforms/jupyter/) would deploy
# with its shell scripts, behind the kernel's back; the kernel's modules do
# the same through its define / invoke / experiment upcalls. The parent
# packages of the paper's module (`platforms`, `platforms.jupyter`) are
# served only when nothing on sys.path has them, so a package of the user's
# named `platforms` keeps working.
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys

# public module name -> the library source it is made from
PUBLIC_NAMES = {
    "FaaSET": "faaset_compat_faaset",
    "FaaSRunner": "faaset_compat_runner",
    "FaaSETUI": "faaset_compat_ui",
    "platforms.jupyter.interactive_helpers": "faaset_compat_helpers",
}
PARENT_PACKAGES = ("platforms", "platforms.jupyter")


class _LibraryFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, sources):
        self._sources = dict(sources)

    def _source_name(self, fullname):
        name = PUBLIC_NAMES.get(fullname, fullname)
        return name if name in self._sources else None

    def find_spec(self, fullname, path=None, target=None):
        if fullname in PARENT_PACKAGES:
            if importlib.machinery.PathFinder.find_spec(fullname, path) is not None:
                return None  # the user's own package of that name
            return importlib.util.spec_from_loader(fullname, self, origin="<faaset:package>", is_package=True)
        if self._source_name(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin="<faaset:%s>" % self._source_name(fullname))

    def create_module(self, spec):
        return None  # the default module

    def exec_module(self, module):
        source_name = self._source_name(module.__name__)
        if source_name is None:  # a parent package: empty
            return
        source = self._sources[source_name]
        filename = "<faaset:%s>" % source_name
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        module.__file__ = filename
        exec(compile(source, filename, "exec"), module.__dict__)


def install(sources):
    """Serves the library SOURCES ({name: source}) to `import` from now on."""
    if sources:
        sys.meta_path.insert(0, _LibraryFinder(sources))
