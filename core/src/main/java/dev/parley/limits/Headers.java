package dev.parley.limits;

import java.util.List;
import java.util.Map;

/** Case-insensitive lookup in a header map. */
final class Headers {
    private Headers() {}

    /** The first value of header {@code name}, stripped; null when absent or blank. */
    static String first(Map<String, List<String>> headers, String name) {
        List<String> values = headers.get(name);
        if (values == null) {
            for (var entry : headers.entrySet()) {
                if (entry.getKey() != null && entry.getKey().equalsIgnoreCase(name)) {
                    values = entry.getValue();
                    break;
                }
            }
        }
        if (values == null || values.isEmpty() || values.getFirst() == null) return null;
        String value = values.getFirst().strip();
        return value.isEmpty() ? null : value;
    }
}
