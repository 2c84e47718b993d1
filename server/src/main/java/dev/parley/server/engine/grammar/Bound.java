package dev.parley.server.engine.grammar;

/** One side of a numeric range: a whole number, included or not. */
record Bound(long value, boolean exclusive) {}
