"""nyc-rental: a weekly, partitioned Dagster pipeline that retrains a nightly-price model on each delivery.

Importing the package, or any module of it, does not build the definitions: `nyc_rental.definitions` is the
code location. `defs` is resolved on first access, so `dagster ... -m nyc_rental` finds it too.
"""


def __getattr__(name: str):
    if name == "defs":
        from nyc_rental.definitions import defs

        return defs
    raise AttributeError(f"module 'nyc_rental' has no attribute {name!r}")


def __dir__() -> list[str]:
    return ["defs"]
