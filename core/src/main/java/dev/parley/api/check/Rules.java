package dev.parley.api.check;

import dev.parley.api.InvalidRequestException;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** The building blocks of every check: one method per kind of rule, each throwing OpenAI's error. */
final class Rules {
    /** Names of messages and functions: OpenAI allows letters, digits, underscores and dashes, at most 64. */
    static final Pattern NAME = Pattern.compile("^[a-zA-Z0-9_-]+$");

    static final int MAX_NAME_LENGTH = 64;

    private Rules() {}

    static void required(String param, Object value) {
        if (value == null) {
            throw InvalidRequestException.of(
                    param, "missing_required_parameter", "Missing required parameter: '%s'.".formatted(param));
        }
    }

    /** An array element that must be an object: {@code [null]} is a wrong type, as OpenAI reports it. */
    static void element(String param, Object value) {
        if (value == null) {
            throw InvalidRequestException.of(
                    param,
                    "invalid_type",
                    "Invalid type for '%s': expected an object, but got null instead.".formatted(param));
        }
    }

    static void nonEmpty(String param, Collection<?> values) {
        if (values != null && values.isEmpty()) {
            throw InvalidRequestException.of(
                    param,
                    "empty_array",
                    "Invalid '%s': empty array. Expected an array with minimum length 1, but got an empty array instead."
                            .formatted(param));
        }
    }

    static void nonBlank(String param, String value) {
        if (value != null && value.isBlank()) {
            throw InvalidRequestException.of(
                    param,
                    "empty_string",
                    "Invalid '%s': empty string. Expected a string with minimum length 1, but got an empty string instead."
                            .formatted(param));
        }
    }

    static void maxItems(String param, Collection<?> values, int max) {
        if (values != null && values.size() > max) {
            throw InvalidRequestException.of(
                    param,
                    "array_above_max_length",
                    "Invalid '%s': array too long. Expected an array with maximum length %d, but got an array with length %d instead."
                            .formatted(param, max, values.size()));
        }
    }

    static void range(String param, Double value, double min, double max) {
        if (value == null) return;
        if (value.isNaN() || value < min) {
            throw InvalidRequestException.of(
                    param,
                    "decimal_below_min_value",
                    "Invalid '%s': decimal below minimum value. Expected a value >= %s, but got %s instead."
                            .formatted(param, number(min), number(value)));
        }
        if (value > max) {
            throw InvalidRequestException.of(
                    param,
                    "decimal_above_max_value",
                    "Invalid '%s': decimal above maximum value. Expected a value <= %s, but got %s instead."
                            .formatted(param, number(max), number(value)));
        }
    }

    static void range(String param, Integer value, int min, int max) {
        if (value == null) return;
        if (value < min) {
            throw InvalidRequestException.of(
                    param,
                    "integer_below_min_value",
                    "Invalid '%s': integer below minimum value. Expected a value >= %d, but got %d instead."
                            .formatted(param, min, value));
        }
        if (value > max) {
            throw InvalidRequestException.of(
                    param,
                    "integer_above_max_value",
                    "Invalid '%s': integer above maximum value. Expected a value <= %d, but got %d instead."
                            .formatted(param, max, value));
        }
    }

    static void oneOf(String param, String value, List<String> allowed) {
        if (value != null && !allowed.contains(value)) {
            throw InvalidRequestException.of(
                    param,
                    "invalid_value",
                    "Invalid value: '%s'. Supported values are: %s.".formatted(value, listed(allowed)));
        }
    }

    static void name(String param, String value) {
        if (value == null) return;
        nonBlank(param, value);
        if (value.length() > MAX_NAME_LENGTH) {
            throw InvalidRequestException.of(
                    param,
                    "string_above_max_length",
                    "Invalid '%s': string too long. Expected a string with maximum length %d, but got a string with length %d instead."
                            .formatted(param, MAX_NAME_LENGTH, value.length()));
        }
        if (!NAME.matcher(value).matches()) {
            throw InvalidRequestException.of(
                    param,
                    "invalid_value",
                    "Invalid '%s': string does not match pattern. Expected a string that matches the pattern '%s'."
                            .formatted(param, NAME.pattern()));
        }
    }

    static InvalidRequestException invalid(String param, String message) {
        return InvalidRequestException.of(param, "invalid_value", message);
    }

    /** 'a', 'b', and 'c' — the way OpenAI lists allowed values. */
    static String listed(List<String> values) {
        List<String> quoted = values.stream().map(v -> "'" + v + "'").toList();
        if (quoted.size() == 1) return quoted.getFirst();
        return quoted.subList(0, quoted.size() - 1).stream().collect(Collectors.joining(", "))
                + (quoted.size() > 2 ? ", and " : " and ")
                + quoted.getLast();
    }

    /** 2 rather than 2.0, as in OpenAI's messages. */
    private static String number(double value) {
        return value == Math.rint(value) && !Double.isInfinite(value)
                ? Long.toString((long) value)
                : Double.toString(value);
    }
}
