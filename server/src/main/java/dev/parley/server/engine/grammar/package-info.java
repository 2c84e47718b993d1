/**
 * JSON Schema → GBNF: the grammars that constrain llama.cpp's sampler for structured outputs
 * ({@code response_format} {@code json_schema} and {@code json_object}) and tool-call arguments.
 *
 * <p>{@link dev.parley.server.engine.grammar.JsonGrammar} is the one entry point; everything else here is
 * package-private. A grammar accepts only JSON that the schema accepts (it may be narrower: fixed key order,
 * bounded whitespace and number lengths); a keyword it cannot honour is refused with a
 * {@link dev.parley.server.engine.grammar.SchemaException} naming its JSON pointer, never ignored.
 *
 * <p>Everything in this package is non-null unless documented otherwise.
 */
package dev.parley.server.engine.grammar;
