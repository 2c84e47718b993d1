package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Integers and numbers, with {@code minimum}, {@code maximum}, {@code exclusiveMinimum} and
 * {@code exclusiveMaximum} (also draft-04's boolean {@code exclusiveMinimum}/{@code exclusiveMaximum}). Bounds
 * past 16 integer digits (or, for numbers, 15 fraction digits) are refused: spelled numbers stop at 16 digits.
 * A bounded number is written without an exponent (see {@link DecimalRange}).
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
        long min = low == null ? -IntegerRange.OPEN : low.value().longValueExact() + (low.exclusive() ? 1 : 0);
        long max = high == null ? IntegerRange.OPEN : high.value().longValueExact() - (high.exclusive() ? 1 : 0);
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

    private static Side bound(
            JsonNode schema,
            Pointer at,
            String inclusiveKey,
            String exclusiveKey,
            boolean integer,
            RoundingMode round) {
        JsonNode exclusive = schema.get(exclusiveKey);
        boolean draft4 = exclusive != null && exclusive.isBoolean(); // draft-04: a flag on minimum/maximum
        Bound inclusive = schema.has(inclusiveKey)
                ? whole(
                        schema.get(inclusiveKey),
                        at.child(inclusiveKey),
                        integer,
                        round,
                        draft4 && exclusive.booleanValue())
                : null;
        Bound strict =
                exclusive == null || draft4 ? null : whole(exclusive, at.child(exclusiveKey), integer, round, true);
        return new Side(inclusive, strict);
    }

    private static Bound tighter(Side side, boolean lower) {
        if (side.inclusive() == null || side.exclusive() == null) {
            return side.inclusive() == null ? side.exclusive() : side.inclusive();
        }
        int order = side.inclusive().value().compareTo(side.exclusive().value());
        if (order == 0) {
            return side.exclusive();
        }
        return (lower ? order > 0 : order < 0) ? side.inclusive() : side.exclusive();
    }

    private static Bound whole(JsonNode value, Pointer at, boolean integer, RoundingMode round, boolean exclusive) {
        if (!value.isNumber()) {
            throw SchemaException.invalid(at, "must be a number");
        }
        BigDecimal number = value.decimalValue().stripTrailingZeros();
        if (number.setScale(0, RoundingMode.DOWN).abs().compareTo(OPEN) > 0) {
            throw SchemaException.tooLarge(at, "bound " + number + " has more than 16 integer digits");
        }
        if (!integer) {
            if (number.scale() >= Fractions.MAX_DIGITS) {
                throw SchemaException.unsupported(
                        at, "bound " + number + " has more than " + (Fractions.MAX_DIGITS - 1) + " fraction digits");
            }
            return new Bound(number, exclusive);
        }
        BigDecimal rounded = number.setScale(0, round);
        if (rounded.compareTo(number) != 0) {
            exclusive = false; // an integer bound rounded inward already excludes the fractional bound
        }
        if (rounded.abs().compareTo(OPEN) > 0) {
            throw SchemaException.tooLarge(at, "bound " + number + " has more than 16 digits");
        }
        return new Bound(rounded, exclusive);
    }
}
