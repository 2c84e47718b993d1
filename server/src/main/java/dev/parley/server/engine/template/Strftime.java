package dev.parley.server.engine.template;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/** C's {@code strftime} in the C locale, as {@code strftime_now(format)} uses it, including glibc's {@code %-d}. */
final class Strftime {
    private Strftime() {}

    static String format(String pattern, ZonedDateTime t) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c != '%' || i + 1 >= pattern.length()) {
                out.append(c);
                continue;
            }
            char f = pattern.charAt(++i);
            boolean unpadded = f == '-' && i + 1 < pattern.length();
            if (unpadded) f = pattern.charAt(++i);
            out.append(field(f, t, unpadded));
        }
        return out.toString();
    }

    private static String field(char f, ZonedDateTime t, boolean unpadded) {
        return switch (f) {
            case 'd' -> pad(t.getDayOfMonth(), 2, unpadded);
            case 'e' -> unpadded ? Integer.toString(t.getDayOfMonth()) : "%2d".formatted(t.getDayOfMonth());
            case 'm' -> pad(t.getMonthValue(), 2, unpadded);
            case 'Y' -> Integer.toString(t.getYear());
            case 'y' -> pad(t.getYear() % 100, 2, unpadded);
            case 'H' -> pad(t.getHour(), 2, unpadded);
            case 'I' -> pad((t.getHour() + 11) % 12 + 1, 2, unpadded);
            case 'M' -> pad(t.getMinute(), 2, unpadded);
            case 'S' -> pad(t.getSecond(), 2, unpadded);
            case 'j' -> pad(t.getDayOfYear(), 3, unpadded);
            case 'p' -> t.getHour() < 12 ? "AM" : "PM";
            case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'F' -> "%04d-%02d-%02d".formatted(t.getYear(), t.getMonthValue(), t.getDayOfMonth());
            case 'T' -> "%02d:%02d:%02d".formatted(t.getHour(), t.getMinute(), t.getSecond());
            case 'Z' -> t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case '%' -> "%";
            default -> "%" + (unpadded ? "-" : "") + f;
        };
    }

    private static String pad(int value, int width, boolean unpadded) {
        return unpadded ? Integer.toString(value) : ("%0" + width + "d").formatted(value);
    }
}
