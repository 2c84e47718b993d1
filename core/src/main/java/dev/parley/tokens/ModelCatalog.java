package dev.parley.tokens;

import java.util.List;
import java.util.Optional;

/**
 * Model name to encoding, context window, output limit and message rules.
 *
 * <p>{@link #lookup} resolves like tiktoken's {@code encoding_for_model}: exact names first (dated snapshots
 * and aliases), then the base of a fine-tune ({@code ft:gpt-4o-mini-2024-07-18:org::id} counts as
 * {@code gpt-4o-mini-2024-07-18}), then the most specific family the name contains ({@code gpt-4o-2099-01-01}
 * counts as {@code gpt-4o}), and finally the fallback of OpenAI's {@code num_tokens_from_messages}:
 * {@code cl100k_base} with the gpt-4-0613 rules. Each guess carries a warning; lookups never throw.
 *
 * <p>Thread-safe and immutable.
 */
public final class ModelCatalog {

    private static final ModelCatalog STANDARD = new ModelCatalog();

    private ModelCatalog() {}

    /** The catalog of OpenAI's models. */
    public static ModelCatalog standard() {
        return STANDARD;
    }

    /** The model as listed, without any guessing. */
    public Optional<ModelInfo> find(String model) {
        return Optional.ofNullable(ModelTable.MODELS.get(model));
    }

    /** Every name the catalog lists, aliases and snapshots alike. */
    public List<String> names() {
        return ModelTable.names();
    }

    /** The model to count {@code model} as; see the class comment for the order of the guesses. */
    public ModelLookup lookup(String model) {
        ModelInfo exact = ModelTable.MODELS.get(model);
        if (exact != null) return new ModelLookup(model, exact, null);

        if (model.startsWith("ft:")) {
            String base = model.substring(3).split(":", 2)[0];
            ModelLookup ofBase = lookup(base);
            String warning =
                    ofBase.warning() == null ? null : "fine-tuned model '%s': %s".formatted(model, ofBase.warning());
            return new ModelLookup(model, ofBase.model().named(model), warning);
        }

        var family = ModelTable.familyOf(model);
        if (family != null) {
            ModelInfo like = ModelTable.MODELS.get(family.getValue());
            return new ModelLookup(
                    model,
                    like.named(model),
                    "model '%s' is not in the catalog; counting it as %s (%s)"
                            .formatted(model, family.getValue(), like.encoding()));
        }

        ModelInfo fallback =
                new ModelInfo(model, Encodings.CL100K_BASE, null, null, ModelInfo.Kind.CHAT, MessageRules.STANDARD);
        return new ModelLookup(
                model,
                fallback,
                "model '%s' not found; counting with cl100k_base and the message rules of gpt-4-0613".formatted(model));
    }

    /** A counter for {@code model} as {@link #lookup} resolves it; ask {@link #lookup} for the warning. */
    public TokenCounter counter(String model) {
        return TokenCounter.of(lookup(model).model());
    }
}
