package dev.parley.server.auth;

import dev.parley.server.limits.Limits;
import java.util.Set;

/**
 * Who a request comes from: the key's name (OpenAI's "organization" in messages), its budgets (null: no
 * limits) and the models it may use (empty: all).
 */
public record Tenant(String name, Limits limits, Set<String> models) {

    /** Every request of a server without keys. */
    public static final Tenant OPEN = new Tenant("open", null, Set.of());

    public Tenant {
        models = Set.copyOf(models);
    }

    public boolean mayUse(String model) {
        return models.isEmpty() || models.contains(model);
    }
}
