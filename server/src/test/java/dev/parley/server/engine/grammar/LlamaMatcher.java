package dev.parley.server.engine.grammar;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.nio.charset.StandardCharsets.UTF_8;

import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.ffi.Bindings;
import dev.parley.server.engine.llama.ffi.NativeLibrary;
import dev.parley.server.engine.llama.ffi.SamplerBindings;
import dev.parley.server.engine.llama.ffi.Structs;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.stream.Stream;

/**
 * llama.cpp's own grammar matcher, as the sampler runs it, for the tests to ask whether it accepts a text: the text is
 * fed token by token (the demo model's vocabulary, the longest token whose bytes come next and which the grammar
 * sampler leaves unmasked), and counts as accepted when it is consumed whole and end-of-generation is then allowed.
 * Only tokens the grammar allows are ever accepted, as llama.cpp requires.
 */
@SuppressWarnings("restricted") // test code reaching two sampler entry points the engine does not bind
final class LlamaMatcher implements AutoCloseable {
    private final MemorySegment model;
    private final MemorySegment vocab;
    private final byte[][] pieces;
    private final int endOfText;
    private final MethodHandle apply;
    private final MethodHandle accept;

    LlamaMatcher() {
        NativeLibrary.Loaded library = NativeLibrary.load();
        SymbolLookup lookup = SymbolLookup.libraryLookup(llamaLibrary(library.folder()), Arena.global());
        Linker linker = Linker.nativeLinker();
        apply = linker.downcallHandle(
                lookup.find("llama_sampler_apply").orElseThrow(), FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        accept = linker.downcallHandle(
                lookup.find("llama_sampler_accept").orElseThrow(), FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = Bindings.modelDefaultParams(arena);
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.MODEL_PARAMS, "vocab_only"), true);
            model = Bindings.modelLoadFromFile(
                    arena.allocateFrom(DemoModel.path().toString()), params);
            vocab = Bindings.modelGetVocab(model);
            pieces = new byte[Bindings.vocabNTokens(vocab)][];
            MemorySegment buffer = arena.allocate(256);
            for (int token = 0; token < pieces.length; token++) {
                int length = Bindings.tokenToPiece(vocab, token, buffer, 256, 0, false);
                pieces[token] = length <= 0
                        ? new byte[0]
                        : buffer.asSlice(0, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            }
            endOfText = Bindings.vocabEos(vocab);
        }
    }

    /** The llama library in the folder, however the build names it ({@code libllama.so}, {@code libllama.v0.5.0.so}). */
    private static java.nio.file.Path llamaLibrary(java.nio.file.Path folder) {
        try (Stream<java.nio.file.Path> files = java.nio.file.Files.list(folder)) {
            return files.filter(file -> file.getFileName().toString().matches("(lib)?llama[.].*(so|dylib|dll)"))
                    .findFirst()
                    .orElseThrow();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        Bindings.modelFree(model);
    }

    /** Whether llama.cpp's matcher for {@code gbnf} (root rule {@code root}) takes the whole of {@code text}. */
    boolean accepts(String gbnf, String text) {
        byte[] bytes = text.getBytes(UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sampler =
                    SamplerBindings.initGrammar(vocab, arena.allocateFrom(gbnf), arena.allocateFrom(JsonGrammar.ROOT));
            if (sampler.equals(MemorySegment.NULL)) throw new IllegalArgumentException("llama.cpp refused " + gbnf);
            try {
                MemorySegment data = arena.allocate(12L * pieces.length, 4); // llama_token_data {id, logit, p}
                MemorySegment array = arena.allocate(32, 8); // llama_token_data_array {data, size, selected, sorted}
                for (int at = 0; ; ) {
                    float[] logits = allowed(sampler, data, array);
                    if (at == bytes.length) {
                        return logits[endOfText] != Float.NEGATIVE_INFINITY;
                    }
                    int best = -1;
                    for (int token = 0; token < pieces.length; token++) {
                        byte[] piece = pieces[token];
                        if (logits[token] != Float.NEGATIVE_INFINITY
                                && piece.length > 0
                                && at + piece.length <= bytes.length
                                && (best == -1 || piece.length > pieces[best].length)
                                && Arrays.equals(piece, 0, piece.length, bytes, at, at + piece.length)) {
                            best = token;
                        }
                    }
                    if (best == -1) {
                        return false;
                    }
                    accept.invokeExact(sampler, best);
                    at += pieces[best].length;
                }
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            } finally {
                SamplerBindings.free(sampler);
            }
        }
    }

    /** Every token's logit after the grammar sampler masked what it does not allow next. */
    private float[] allowed(MemorySegment sampler, MemorySegment data, MemorySegment array) throws Throwable {
        for (int token = 0; token < pieces.length; token++) {
            data.set(JAVA_INT, 12L * token, token);
            data.set(JAVA_FLOAT, 12L * token + 4, 0f);
            data.set(JAVA_FLOAT, 12L * token + 8, 0f);
        }
        array.set(ADDRESS, 0, data);
        array.set(JAVA_LONG, 8, pieces.length);
        array.set(JAVA_LONG, 16, -1L);
        array.set(JAVA_BOOLEAN, 24, false);
        apply.invokeExact(sampler, array);
        MemorySegment result = array.get(ADDRESS, 0).reinterpret(12L * pieces.length);
        float[] logits = new float[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            logits[result.get(JAVA_INT, 12L * i)] = result.get(JAVA_FLOAT, 12L * i + 4);
        }
        return logits;
    }
}
