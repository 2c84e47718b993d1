package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Integers and numbers, with {@code minimum}, {@code maximum}, {@code exclusiveMinimum} and
 * {@code exclusiveMaximum} (also draft-04's boolean {@code exclusiveMinimum}/{@code exclusiveMaximum}). Integer
 * bounds may be any number; number bounds must be whole, since only then does the integer part alone decide
 * (see {@link DecimalRange}). Bounds past 16 digits are refused: no spelled number reaches them.
 */
final class Numbers {
    private Numbers() {}

    private static final BigDecimal OPEN = BigDecimal.valueOf(IntegerRange.OPEN);

    static String integer(SchemaConverter converter, JsonNode schema, Pointer at) {
        Bound low = lower(schema, at, true);
        Bound high = upper(schema, at, true);
        if (low == null && high == null) {
            return Primitives.use(converter.rules, "integer");
        }
        long min = low == null ? -IntegerRange.OPEN : low.exclusive() ? low.value() + 1 : low.value();
        long max = high == null ? IntegerRange.OPEN : high.exclusive() ? high.value() - 1 : high.value();
        if (min > max) {
            throw SchemaException.invalid(at, "no integer lies between its bounds");
        }
        return IntegerRange.of(min, max);
    }

    static String number(SchemaConverter converter, JsonNode schema, Pointer at) {
        Bound low = lower(schema, at, false);
        Bound high = upper(schema, at, false);
        if (low == null && high == null) {
            return Primitives.use(converter.rules, "number");
        }
        String spelled = DecimalRange.of(low, high);
        if (spelled.isEmpty()) {
            throw SchemaException.invalid(at, "no number lies between its bounds");
        }
        return spelled;
    }

    private static Bound lower(JsonNode schema, Pointer at, boolean integer) {
        return tighter(bound(schema, at, "minimum", "exclusiveMinimum", integer, RoundingMode.CEILING), true);
    }

    private static Bound upper(JsonNode schema, Pointer at, boolean integer) {
        return tighter(bound(schema, at, "maximum", "exclusiveMaximum", integer, RoundingMode.FLOOR), false);
    }

    /** The inclusive and the exclusive bound of one side, either possibly null. */
    private record Side(Bound inclusive, Bound exclusive) {}

    private static Side bound(JsonNode schema, Pointer at, String inclusiveKey, String exclusiveKey, boolean integer, RoundingMode round) {
        JsonNode exclusive = schema.get(exclusiveKey);
        boolean draft4 = exclusive != null && exclusive.isBoolean(); // draft-04: a flag on minimum/maximum
        Bound inclusive = schema.has(inclusiveKey)
                ? whole(schema.get(inclusiveKey), at.child(inclusiveKey), integer, round, draft4 && exclusive.booleanValue())
                : null;
        Bound strict = exclusive == null || draft4 ? null : whole(exclusive, at.child(exclusiveKey), integer, round, true);
        return new Side(inclusive, strict);
    }

    private static Bound tighter(Side side, boolean lower) {
        if (side.inclusive() == null || side.exclusive() == null) {
            return side.inclusive() == null ? side.exclusive() : side.inclusive();
        }
        long a = side.inclusive().value();
        long b = side.exclusive().value();
        if (a == b) {
            return side.exclusive();
        }
        return (lower ? a > b : a < b) ? side.inclusive() : side.exclusive();
    }

    private static Bound whole(JsonNode value, Pointer at, boolean integer, RoundingMode round, boolean exclusive) {
        if (!value.isNumber()) {
            throw SchemaException.invalid(at, "must be a number");
        }
        BigDecimal number = value.decimalValue();
        BigDecimal rounded = number.setScale(0, round);
        if (rounded.compareTo(number) != 0) {
            if (!integer) {
                throw SchemaException.unsupported(at, "number bounds must be whole numbers to be enforced by a grammar");
            }
            exclusive = false; // an integer bound rounded inward already excludes the fractional bound
        }
        if (rounded.abs().compareTo(OPEN) > 0) {
            throw SchemaException.tooLarge(at, "bound " + number + " has more than 16 digits");
        }
        return new Bound(rounded.longValueExact(), exclusive);
    }
}
