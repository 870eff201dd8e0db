-- PostgreSQL's used nonces become an unlogged table (see the PostgreSQL
-- migration of the same number). SQLite keeps no used nonces in the database
-- (each process remembers its own), so there is nothing to change here; the
-- migration exists so that both backends carry the same numbers.
SELECT 1;
