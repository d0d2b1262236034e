"""The collector's settings of a process that imports the project (nyc_rental/runtime/heap.py)."""

import json
import subprocess
import sys

from nyc_rental.runtime.heap import YOUNG_THRESHOLD

# The exit hook is registered before nyc_rental is imported, so it runs after the project's (last in, first out).
PROBE = """
import atexit, gc, json
default = gc.get_threshold()
atexit.register(lambda: print(json.dumps({"frozen_at_exit": gc.get_freeze_count()}), flush=True))
import nyc_rental
print(json.dumps({"default": default, "tuned": gc.get_threshold(), "frozen": gc.get_freeze_count()}), flush=True)
"""


def test_a_process_that_imports_the_project_collects_young_objects_less_often_and_exits_with_its_heap_frozen():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    figures = {key: value for line in done.stdout.splitlines() for key, value in json.loads(line).items()}
    default = figures["default"]
    assert default[0] < YOUNG_THRESHOLD
    assert figures["tuned"] == [YOUNG_THRESHOLD, default[1], default[2]]
    assert figures["frozen"] == 0  # while the process works, its heap is collected as usual
    assert figures["frozen_at_exit"] > 1_000  # at exit: the interpreter's last collections skip every object alive
