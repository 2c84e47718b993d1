package dev.parley.server.engine.grammar;

import java.math.BigDecimal;

/** One side of a numeric range, included or not; values have at most 16 integer and 15 fraction digits. */
record Bound(BigDecimal value, boolean exclusive) {
    static Bound of(long value, boolean exclusive) {
        return new Bound(BigDecimal.valueOf(value), exclusive);
    }

    Bound negate() {
        return new Bound(value.negate(), exclusive);
    }
}
