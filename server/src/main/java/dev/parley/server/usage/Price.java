package dev.parley.server.usage;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a model's tokens cost, in US dollars per million input (prompt) and per million output (completion)
 * tokens, as providers publish their prices: {@code Price.of(0.15, 0.60)}. Both are finite and not negative.
 * Costs are doubles: exact enough for a bill in dollars, and they cannot wrap around however many tokens
 * they are given.
 */
public record Price(double input, double output) {

    public Price {
        if (!Double.isFinite(input) || input < 0 || !Double.isFinite(output) || output < 0) {
            throw new IllegalArgumentException(
                    "a price is a finite number of dollars per million tokens, at least 0, not " + input + ","
                            + output);
        }
    }

    public static Price of(double input, double output) {
        return new Price(input, output);
    }

    /** The cost of {@code promptTokens} in and {@code completionTokens} out, in USD. */
    public double cost(long promptTokens, long completionTokens) {
        return (promptTokens * input + completionTokens * output) / 1_000_000d;
    }

    /**
     * A price as written on a command line: {@code MODEL=INPUT,OUTPUT}, e.g. {@code gpt-4o-mini=0.15,0.60}.
     *
     * @throws IllegalArgumentException when it is not of that form
     */
    public static Map.Entry<String, Price> parse(String text) {
        int eq = text.lastIndexOf('=');
        String[] usd = eq < 0 ? new String[0] : text.substring(eq + 1).split(",", -1);
        if (eq <= 0 || usd.length != 2) {
            throw new IllegalArgumentException(
                    "a price is MODEL=INPUT,OUTPUT in USD per million tokens (e.g. gpt-4o-mini=0.15,0.60), not "
                            + text);
        }
        try {
            return Map.entry(
                    text.substring(0, eq), of(Double.parseDouble(usd[0].strip()), Double.parseDouble(usd[1].strip())));
        } catch (IllegalArgumentException e) { // not numbers, or not finite and at least 0
            throw new IllegalArgumentException(
                    "a price's INPUT and OUTPUT are finite amounts of USD, at least 0, not " + text, e);
        }
    }

    /** The prices of {@code MODEL=INPUT,OUTPUT} texts; a model given twice keeps its last price. */
    public static Map<String, Price> parseAll(Iterable<String> texts) {
        Map<String, Price> prices = new LinkedHashMap<>();
        for (String text : texts) {
            var entry = parse(text);
            prices.put(entry.getKey(), entry.getValue());
        }
        return prices;
    }
}
