"""Fast row insertion for the bulk seed: COPY on PostgreSQL, chunked executemany elsewhere.

Rows are tuples of Python values in the order of the columns named; JSON columns take Python
values (dicts, lists), as through the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

CHUNK = 5_000


class RowWriter:
    """Writes rows on one connection, inside the caller's transaction."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.is_postgresql = connection.dialect.name == "postgresql"

    def write(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        if self.is_postgresql:
            return self._copy(table, columns, rows)
        return self._insert(table, columns, rows)

    def _copy(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        json_positions = [
            index for index, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)
        ]
        names = ", ".join(f'"{name}"' for name in columns)
        # Only PostgreSQL gets here, and Steward reaches it through psycopg 3.
        driver = self.connection.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        count = 0
        with driver.cursor().copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                if json_positions:
                    values = list(row)
                    for index in json_positions:
                        if values[index] is not None:
                            values[index] = json.dumps(values[index])
                    copy.write_row(values)
                else:
                    copy.write_row(row)
                count += 1
        return count

    def _insert(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        statement = sa.insert(table)
        count, chunk = 0, []
        for row in rows:
            chunk.append(dict(zip(columns, row, strict=True)))
            if len(chunk) == CHUNK:
                self.connection.execute(statement, chunk)
                count, chunk = count + len(chunk), []
        if chunk:
            self.connection.execute(statement, chunk)
            count += len(chunk)
        return count

    def next_id(self, table: sa.Table) -> int:
        """The first free id of a table (its rows are numbered here, not by the database)."""
        return (self.connection.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1

    def continue_sequence(self, table: sa.Table) -> None:
        """After ids were written by hand, the table's own numbering continues after them."""
        if not self.is_postgresql:
            return  # SQLite numbers from max(rowid) anyway
        # Table names come from our own metadata, never from input.
        name = table.name
        restart = f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{name}")'  # noqa: S608
        self.connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {restart}, false)"
        )

    @contextmanager
    def indexes_built_after(self, tables: Iterable[sa.Table]) -> Iterator[None]:
        """On PostgreSQL, drop the tables' plain indexes (not those of primary keys or unique
        constraints) and create them again after the load, in the same transaction: building
        an index once is many times faster than updating it row by row, above all the GIN
        trigram indexes on policy text."""
        if not self.is_postgresql:
            yield
            return
        names = [table.name for table in tables]
        definitions = self.connection.execute(
            sa.text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:names) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conname = i.indexname AND c.conrelid = i.tablename::regclass)"
            ),
            {"names": names},
        ).all()
        for name, _ in definitions:
            self.connection.exec_driver_sql(f'DROP INDEX "{name}"')
        yield
        self.connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in definitions:
            self.connection.exec_driver_sql(definition)

    def analyze(self, tables: Iterable[sa.Table]) -> None:
        for table in tables:
            self.connection.exec_driver_sql(f'ANALYZE "{table.name}"')
