package dev.parley.server.auth;

import dev.parley.server.limits.Limits;
import java.util.List;
import java.util.Set;

/**
 * One key of a keys file, as written there: its name, the hex SHA-256 of the key (never the key), its
 * budgets ({@code rpd}, {@code tpd} null when absent) and the models it may use (empty or absent: all).
 */
public record KeyEntry(String name, String sha256, long rpm, long tpm, Long rpd, Long tpd, List<String> models) {

    public KeyEntry {
        models = models == null ? List.of() : List.copyOf(models);
    }

    public Limits limits() {
        return new Limits(rpm, tpm, rpd, tpd);
    }

    Tenant tenant() {
        return new Tenant(name, limits(), Set.copyOf(models));
    }
}
