package dev.parley.cli;

import picocli.CommandLine.TypeConversionException;

/** Whole-number option values within bounds, refused in words picocli prints after the option's name. */
final class WholeNumbers {
    private WholeNumbers() {}

    /** {@code value} as a whole number from {@code least} to {@code most}. */
    static long parse(String value, long least, long most) {
        boolean unbounded = most == Long.MAX_VALUE;
        long number;
        try {
            number = Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw new TypeConversionException(
                    "'" + value + "' is not a whole number" + (unbounded ? " (at most " + Long.MAX_VALUE + ")" : ""));
        }
        if (number < least || number > most) {
            throw new TypeConversionException(
                    unbounded
                            ? "must be at least " + least + ", not " + number
                            : "must be between " + least + " and " + most + ", not " + number);
        }
        return number;
    }
}
