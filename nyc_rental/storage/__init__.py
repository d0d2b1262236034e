"""The warehouse: the Warehouse resource (warehouse.py) over one of two backends (duckdb_backend.py,
postgres_backend.py), the tables' shape and its evolution (evolution.py), the IO manager (io_manager.py) and
the PostgreSQL URL forms each reader takes (urls.py)."""
