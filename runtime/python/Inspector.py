"""SAAF's profiler under the name the FaaSET paper uses: ``from Inspector import *``.

It only re-exports ``Inspector`` from ``SAAF``; ``from SAAF import Inspector``
gives the same class.
"""

from SAAF import Inspector

__all__ = ["Inspector"]
