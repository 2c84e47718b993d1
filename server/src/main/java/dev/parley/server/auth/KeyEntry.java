package dev.parley.server.auth;

import dev.parley.server.limits.Limits;
import java.util.List;
import java.util.Set;

/**
 * One key of a keys file, as written there: its name, the hex SHA-256 of the key (never the key), its
 * budgets ({@code rpd}, {@code tpd} null when absent), the models it may use (empty or absent: all), its
 * {@code monthly_budget} in USD (null: none; reached, the key's requests get 429 {@code insufficient_quota} until
 * the next calendar month, UTC), and whether it is an {@code admin} key, which may read the organization's usage
 * and costs (null or false: not).
 */
public record KeyEntry(
        String name,
        String sha256,
        long rpm,
        long tpm,
        Long rpd,
        Long tpd,
        List<String> models,
        Double monthlyBudget,
        Boolean admin) {

    public KeyEntry {
        models = models == null ? List.of() : List.copyOf(models);
    }

    /** A key without a monthly budget that is not an admin key. */
    public KeyEntry(String name, String sha256, long rpm, long tpm, Long rpd, Long tpd, List<String> models) {
        this(name, sha256, rpm, tpm, rpd, tpd, models, null, null);
    }

    public Limits limits() {
        return new Limits(rpm, tpm, rpd, tpd);
    }

    public KeyEntry withMonthlyBudget(Double usd) {
        return new KeyEntry(name, sha256, rpm, tpm, rpd, tpd, models, usd, admin);
    }

    public KeyEntry withAdmin(Boolean admin) {
        return new KeyEntry(name, sha256, rpm, tpm, rpd, tpd, models, monthlyBudget, admin);
    }

    /**
     * @throws IllegalArgumentException when the name is blank or holds a control character, a limit is not positive,
     *     a model name is empty, or the monthly budget is not a finite amount of at least 0
     */
    void check() {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a key has no name");
        // The name is written in access-log lines and 429 messages: a line break there would forge a log line.
        if (name.chars().anyMatch(Character::isISOControl))
            throw new IllegalArgumentException("a key's name may not hold control characters (tabs, line breaks)");
        limits();
        // A key limited to a model named "" could use none: a slip of the keyboard ("a,,b"), not an intent.
        if (models.stream().anyMatch(String::isBlank))
            throw new IllegalArgumentException(
                    "a model name is empty in the models \"" + String.join(",", models) + "\"");
        if (monthlyBudget != null && (!Double.isFinite(monthlyBudget) || monthlyBudget < 0)) {
            throw new IllegalArgumentException(
                    "a monthly budget is a finite amount of USD, at least 0, not " + monthlyBudget);
        }
    }

    Tenant tenant() {
        return new Tenant(name, limits(), Set.copyOf(models), monthlyBudget, Boolean.TRUE.equals(admin));
    }
}
