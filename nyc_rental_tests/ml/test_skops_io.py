"""skops imported through nyc_rental trusts the same types as skops imported its own way."""

import json
import subprocess
import sys

# In a fresh process that has imported what a run imports first: skops.io through skops_io(), its trusted type
# names; then the same module run again with skops' own look-up (the one skops_io() wraps).
PROGRAM = """
import importlib, json, sys
import dagster, mlflow, pandas, scipy.special, sklearn.ensemble
from nyc_rental.ml.skops_io import skops_io

def names(module):
    return {key: value for key, value in vars(module).items() if key.endswith("_TYPE_NAMES")}

io = skops_io()
trusted, utils = sys.modules["skops.io._trusted_types"], sys.modules["skops.io._utils"]
fast, patched = names(trusted), utils.whichmodule
found = patched.found
utils.whichmodule = patched.__wrapped__
own = names(importlib.reload(trusted))
print(json.dumps({"fast": fast, "own": own, "found": found, "once": skops_io() is io}))
"""


def test_skops_io_trusts_the_types_skops_trusts():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["once"]
    assert found["found"] > 100  # the ufuncs skops looked up as it was imported, each answered by the quick look-up
    assert len(found["fast"]["SCIPY_UFUNC_TYPE_NAMES"]) > 100 and len(found["fast"]["NUMPY_UFUNC_TYPE_NAMES"]) > 50
    assert found["fast"] == found["own"]
