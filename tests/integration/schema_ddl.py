"""The schema of a database as the database itself reports it, normalised so that two builds of the same schema
compare equal: SQLite's `sqlite_master` SQL, PostgreSQL's catalogue (columns, `pg_get_constraintdef`,
`pg_get_indexdef`, triggers and their functions). Unlike Alembic's autogenerate comparison, this sees CHECK
expressions, partial-index conditions, DEFERRABLE foreign keys, server defaults and triggers.

Column order is left out on purpose: a column added by a later migration comes last in the table, where
`metadata.create_all` puts it among the others; nothing in dealdesk depends on the order."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

Schema = dict[str, object]
IGNORED_TABLES = {"alembic_version"}


def schema_of(engine: Engine) -> Schema:
    return _sqlite_schema(engine) if engine.dialect.name == "sqlite" else _postgres_schema(engine)


# ---------------------------------------------------------------------------------------------- SQLite
def _normalised(sql: str) -> str:
    return re.sub(r"\s+", " ", sql.replace('"', "")).strip()


def _top_level_parts(body: str) -> list[str]:
    """Split a CREATE TABLE's body at the commas outside parentheses and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in body:
        if char == "'" and depth >= 0:
            quoted = not quoted
        if not quoted:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif char == "," and depth == 0:
                parts.append("".join(current))
                current = []
                continue
        current.append(char)
    parts.append("".join(current))
    return sorted(_normalised(part) for part in parts)


def _sqlite_schema(engine: Engine) -> Schema:
    found: Schema = {}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL")).all()
    for kind, name, table, sql in rows:
        if table in IGNORED_TABLES or name.startswith("sqlite_"):
            continue
        if kind == "table":
            head, _, rest = sql.partition("(")
            found[f"table {name}"] = _normalised(head)
            for part in _top_level_parts(rest.rstrip().removesuffix(")")):
                found[f"table {name}: {part}"] = "present"
        else:
            found[f"{kind} {name}"] = _normalised(sql)
    return found


# ---------------------------------------------------------------------------------------------- PostgreSQL
COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
"""
CONSTRAINTS = """
SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relnamespace = current_schema()::regnamespace
"""
INDEXES = """
SELECT c.relname, i.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
WHERE c.relnamespace = current_schema()::regnamespace
"""

TRIGGERS = """
SELECT c.relname, g.tgname, pg_get_triggerdef(g.oid)
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
WHERE c.relnamespace = current_schema()::regnamespace AND NOT g.tgisinternal
"""
FUNCTIONS = "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"


def _postgres_schema(engine: Engine) -> Schema:
    found: Schema = {}
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        for table, column, type_, not_null, default in conn.execute(text(COLUMNS)):
            if table not in IGNORED_TABLES:
                found[f"column {table}.{column}"] = (type_, not_null, default)
        for table, name, kind, definition, deferrable, deferred in conn.execute(text(CONSTRAINTS)):
            if table not in IGNORED_TABLES:
                found[f"constraint {table}.{name}"] = (kind, definition, deferrable, deferred)
        for table, name, definition in conn.execute(text(INDEXES)):
            if table not in IGNORED_TABLES:
                found[f"index {table}.{name}"] = definition.replace(f"{schema}.", "")
        for table, name, definition in conn.execute(text(TRIGGERS)):
            found[f"trigger {table}.{name}"] = definition.replace(f"{schema}.", "")
        for name, source in conn.execute(text(FUNCTIONS)):
            found[f"function {name}"] = source
    return found


def differences(built: Schema, declared: Schema) -> list[str]:
    """What one schema has that the other lacks or has otherwise, one line each."""
    lines = []
    for key in sorted(built.keys() | declared.keys()):
        if built.get(key) != declared.get(key):
            lines.append(f"{key}:\n  migrations: {built.get(key)!r}\n  db/tables.py: {declared.get(key)!r}")
    return lines
