package dev.parley.server.engine.llama.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.parley.server.engine.llama.LlamaException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes llama.cpp's and ggml's logs into SLF4J, logger {@code dev.parley.server.engine.llama.native}.
 *
 * <p>Levels: ggml ERROR → error, WARN → warn, INFO → debug (the loader prints dozens of lines per model at
 * INFO; they are diagnostics, not events), DEBUG → trace, CONT continues the previous message. Messages
 * arrive in pieces; a line is logged once its newline arrives.
 *
 * <p>The callback is an upcall stub in the global arena, since llama.cpp keeps it for the life of the
 * process. It may run on native threads, and it catches everything: an exception escaping an upcall would
 * end the JVM.
 */
@SuppressWarnings("restricted") // this package is the native boundary: it reinterprets C pointers by design
public final class LlamaLog {
    private static final Logger LOG = LoggerFactory.getLogger("dev.parley.server.engine.llama.native");

    private static final int GGML_LOG_LEVEL_DEBUG = 1;
    private static final int GGML_LOG_LEVEL_INFO = 2;
    private static final int GGML_LOG_LEVEL_WARN = 3;
    private static final int GGML_LOG_LEVEL_ERROR = 4;
    private static final int GGML_LOG_LEVEL_CONT = 5;

    /** Per thread: the unfinished line and its level; llama.cpp logs from several threads. */
    private static final ThreadLocal<Line> PENDING = ThreadLocal.withInitial(Line::new);

    private static final class Line {
        final StringBuilder text = new StringBuilder();
        int level = GGML_LOG_LEVEL_INFO;
    }

    private LlamaLog() {}

    /** Installs the callback; called once, while the library is being loaded. */
    static void install() {
        try {
            MethodHandle target = MethodHandles.lookup()
                    .findStatic(
                            LlamaLog.class,
                            "callback",
                            MethodType.methodType(void.class, int.class, MemorySegment.class, MemorySegment.class));
            MemorySegment stub = NativeLibrary.linker()
                    .upcallStub(target, FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, ADDRESS), Arena.global());
            // llama.cpp and ggml keep separate loggers in this build (gguf's header errors go to ggml's).
            FunctionDescriptor setter = FunctionDescriptor.ofVoid(ADDRESS, ADDRESS);
            NativeLibrary.function("llama_log_set", setter).invokeExact(stub, MemorySegment.NULL);
            NativeLibrary.function("ggml_log_set", setter).invokeExact(stub, MemorySegment.NULL);
        } catch (Throwable e) {
            throw new LlamaException("cannot install the llama.cpp log callback", e);
        }
    }

    /** The upcall target; package-private so that a test can feed it what native code might. */
    public static void callback(int level, MemorySegment text, MemorySegment userData) {
        try {
            if (text.equals(MemorySegment.NULL)) {
                return;
            }
            String piece = text.reinterpret(Long.MAX_VALUE).getString(0);
            Line line = PENDING.get();
            if (level != GGML_LOG_LEVEL_CONT) {
                flush(line);
                line.level = level;
            }
            int start = 0;
            for (int newline = piece.indexOf('\n'); newline >= 0; newline = piece.indexOf('\n', start)) {
                line.text.append(piece, start, newline);
                flush(line);
                start = newline + 1;
            }
            line.text.append(piece, start, piece.length());
        } catch (Throwable ignored) {
            // Nothing may escape an upcall; a lost log line is the lesser harm.
        }
    }

    private static void flush(Line line) {
        if (line.text.isEmpty()) {
            return;
        }
        String message = line.text.toString();
        line.text.setLength(0);
        switch (line.level) {
            case GGML_LOG_LEVEL_ERROR -> LOG.error(message);
            case GGML_LOG_LEVEL_WARN -> LOG.warn(message);
            case GGML_LOG_LEVEL_INFO -> LOG.debug(message);
            case GGML_LOG_LEVEL_DEBUG -> LOG.trace(message);
            default -> LOG.debug(message);
        }
    }
}
