"""MLflow: the MLflow run of a Dagster run, the trend run and the model registry (tracking.py), the registered
model as MLflow loads it (serving.py, pyfunc_model.py) and the week's rows as MLflow datasets (lineage.py).
MLflow itself is imported inside the functions that use it, never when the code location loads."""
