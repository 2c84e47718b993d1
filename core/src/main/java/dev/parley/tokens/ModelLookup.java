package dev.parley.tokens;

import java.util.Optional;

/**
 * The answer of {@link ModelCatalog#lookup}: the model to count as, and why, when it is a guess.
 *
 * @param requested the name the caller asked for
 * @param model the model whose encoding and rules apply; its name is {@code requested}
 * @param warning null when the catalog knows the name (or the base of a fine-tune); otherwise a sentence
 *     saying what was assumed, for the caller to show. The library never prints it.
 */
public record ModelLookup(String requested, ModelInfo model, String warning) {

    public Optional<String> warningText() {
        return Optional.ofNullable(warning);
    }
}
