/**
 * Token counting the way OpenAI counts: tiktoken's encodings over JTokkit ({@link dev.parley.tokens.Encodings}),
 * the model catalog that knows each model's encoding, context window and message rules
 * ({@link dev.parley.tokens.ModelCatalog}), and {@link dev.parley.tokens.TokenCounter} for text, messages and
 * whole prompts. {@code o200k_base}, the encoding of current models, is cut into pieces by Parley's own
 * pre-tokenizer rather than JTokkit's regex (the same pieces, several times faster); JTokkit's byte-pair
 * encoder and vocabularies do the rest for every encoding.
 *
 * <p>Parameters and return values are non-null unless documented otherwise. Everything here is thread-safe
 * and free of I/O other than reading the vocabularies bundled in JTokkit's jar.
 */
package dev.parley.tokens;
