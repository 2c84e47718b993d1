/**
 * Token counting the way OpenAI counts: tiktoken's encodings over JTokkit ({@link dev.parley.tokens.Encodings}),
 * the model catalog that knows each model's encoding, context window and message rules
 * ({@link dev.parley.tokens.ModelCatalog}), and {@link dev.parley.tokens.TokenCounter} for text, messages and
 * whole prompts.
 *
 * <p>Parameters and return values are non-null unless documented otherwise. Everything here is thread-safe
 * and free of I/O other than reading the vocabularies bundled in JTokkit's jar.
 */
package dev.parley.tokens;
