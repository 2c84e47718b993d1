/**
 * llama.cpp in-process: models and contexts, continuous batching, sampling.
 *
 * <p>The boundary contract. llama.cpp (release v0.5.0) is bound with the Foreign Function &amp; Memory API in
 * the sub-package {@code ffi}, which only this package uses: library loading (the prebuilt libraries for this
 * machine, fetched once with npm and verified, or any build of the release given with {@code --llama-lib}),
 * downcalls, struct layouts that mirror {@code llama.h} byte for byte (checked against gcc by a development
 * test), and the log callback. Nothing unchecked crosses the boundary: every token id, position, sequence id,
 * batch size, index and string is checked in Java first, and a bad one throws
 * {@link java.lang.IllegalArgumentException} without reaching native code, so no input can crash the JVM.
 * Native pointers never leave this package; callers see {@link dev.parley.server.engine.llama.LlamaModel},
 * {@link dev.parley.server.engine.llama.LlamaContext} and {@link dev.parley.server.engine.llama.Sampler}, which
 * own their native memory, free it in an idempotent {@code close()} (a model also closes the contexts and
 * samplers made from it), and throw {@link java.lang.IllegalStateException} when used after it. Temporary
 * native memory lives in a confined arena per call; a context's batch lives in a shared arena that closes
 * with the context; the log callback lives in the global arena, since llama.cpp keeps it for the life of the
 * process, and routes llama.cpp's log into SLF4J. Failures of llama.cpp itself on valid input are
 * {@link dev.parley.server.engine.llama.LlamaException}s.
 *
 * <p>All parameters and return values are non-null unless documented otherwise.
 */
package dev.parley.server.engine.llama;
