"""FaaSET's handler shim: the entry points every deployment package exposes.

The packager writes a package's ``faaset_handler.py`` as one line
``FAASET_USER_FUNCTION = "NAME"`` followed by this file, so this file never
defines that name itself (and must not hold a ``from __future__`` import,
which would then not be first). ``faaset_function.py`` beside it holds the
user's source; it is imported when this module is, so an error in it shows
when the worker (or the platform's runtime) starts, not at the first call.

Entry points, each calling the user's function by name and returning its
result unchanged (the shim adds nothing):

* ``handle(event, context)``: FaaSET's own (the local platform's workers);
* ``lambda_handler(event, context)``: AWS Lambda;
* ``main(args)``: OpenWhisk / IBM Cloud Functions, which pass only the
  parameters (the function gets ``context=None``) and need a dict back: a
  dict result is returned as is, anything else as ``{"result": value}``.
"""
import faaset_function

if not callable(getattr(faaset_function, FAASET_USER_FUNCTION, None)):  # noqa: F821 (prepended)
    raise AttributeError("faaset_function.py defines no function %r" % FAASET_USER_FUNCTION)  # noqa: F821


def handle(event, context):
    return getattr(faaset_function, FAASET_USER_FUNCTION)(event, context)  # noqa: F821


def lambda_handler(event, context):
    return getattr(faaset_function, FAASET_USER_FUNCTION)(event, context)  # noqa: F821


def main(args):
    result = getattr(faaset_function, FAASET_USER_FUNCTION)(args, None)  # noqa: F821
    return result if isinstance(result, dict) else {"result": result}
