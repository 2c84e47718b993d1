/**
 * A model's own chat template (the Jinja text in a GGUF's {@code tokenizer.chat_template}), rendered byte for byte
 * as Hugging Face's {@code apply_chat_template} renders it with Python's jinja2: sandboxed, {@code trim_blocks},
 * {@code lstrip_blocks}, loop controls, its {@code tojson}, {@code raise_exception} and {@code strftime_now}.
 *
 * <p>{@link dev.parley.server.engine.template.ChatTemplate} is the one entry point; the lexer, parser and interpreter
 * behind it are package-private. Values follow Python's semantics for the types chat templates use: {@code None},
 * {@code bool}, {@code int}, {@code float}, {@code str}, {@code list} and {@code dict}. Non-null by default.
 */
package dev.parley.server.engine.template;
