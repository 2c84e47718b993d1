package dev.parley.bench;

import java.util.ArrayList;
import java.util.List;

/** Measurements of one quantity, reported as median and range. Not thread-safe. */
final class Samples {
    private final List<Double> values = new ArrayList<>();

    void add(double value) {
        values.add(value);
    }

    boolean isEmpty() {
        return values.isEmpty();
    }

    /** Nearest-rank quantile, {@code q} in [0, 1]; the median of an even count is the mean of the middle two. */
    double quantile(double q) {
        if (values.isEmpty()) throw new IllegalStateException("no measurements");
        List<Double> sorted = values.stream().sorted().toList();
        if (q == 0.5 && sorted.size() % 2 == 0) {
            return (sorted.get(sorted.size() / 2 - 1) + sorted.get(sorted.size() / 2)) / 2;
        }
        return sorted.get((int) Math.round(q * (sorted.size() - 1)));
    }

    double median() {
        return quantile(0.5);
    }

    /** {@code median (min–max)} with {@code format} for each number, or {@code -} when empty. */
    String summary(String format) {
        if (values.isEmpty()) return "-";
        return (format + " (" + format + "–" + format + ")").formatted(median(), quantile(0), quantile(1));
    }
}
