package dev.parley.server.auth;

import dev.parley.server.limits.Limits;
import java.util.Set;

/**
 * Who a request comes from: the key's name (OpenAI's "organization" in messages), its budgets (null: no
 * limits), the models it may use (empty: all), its monthly budget in USD (null: none), and whether it may read
 * the organization's usage and costs.
 */
public record Tenant(String name, Limits limits, Set<String> models, Double monthlyBudget, boolean admin) {

    /** Every request of a server without keys. */
    public static final Tenant OPEN = new Tenant("open", null, Set.of());

    public Tenant {
        models = Set.copyOf(models);
    }

    /** A tenant without a monthly budget that is not an admin. */
    public Tenant(String name, Limits limits, Set<String> models) {
        this(name, limits, models, null, false);
    }

    public boolean mayUse(String model) {
        return models.isEmpty() || models.contains(model);
    }
}
