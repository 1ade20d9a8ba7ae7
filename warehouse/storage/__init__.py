"""The lakehouse's storage: Iceberg tables through pyiceberg, read and written by their
snapshots. `catalog` opens the catalog and its tables, `reading` turns a snapshot into
DuckDB views, `writing` stages and commits partitions, `partition_records` keeps what
each partition was computed with, and `pyiceberg_patches` holds the only use of
pyiceberg's internals."""
