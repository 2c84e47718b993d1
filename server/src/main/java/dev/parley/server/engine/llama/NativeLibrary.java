package dev.parley.server.engine.llama;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * llama.cpp's shared library, extracted from the classpath and opened once per JVM.
 *
 * <p>The library is {@code libjllama.so} from the {@code de.kherud:llama} jar (llama.cpp build b4916). It is
 * opened with {@code dlopen} through {@link SymbolLookup#libraryLookup}, never through {@code System.load},
 * so its JNI half stays dormant: only its exported C symbols are used. The first use also routes
 * llama.cpp's log into SLF4J and initialises the backend.
 *
 * <p>Thread-safe: initialisation runs once, under the class-initialisation lock of the holder.
 */
final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private NativeLibrary() {}

    /** Looks up {@code name} in llama.cpp's library, failing with its name when the build lacks it. */
    static MethodHandle function(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = Holder.LOOKUP.find(name)
                .orElseThrow(() -> new LlamaException("llama.cpp library has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    static Linker linker() {
        return LINKER;
    }

    /** Loads the library, if no one has yet, so that its failures surface at a clear point. */
    static void ensureLoaded() {
        Holder.LOOKUP.hashCode();
    }

    private static final class Holder {
        static final SymbolLookup LOOKUP = open(extract());

        static {
            // Order matters: the log callback must be in place before the backend prints anything.
            // Handles are made here rather than taken from Bindings, whose own initialisation runs through
            // this holder and may be in progress on this very thread.
            LlamaLog.install();
            try {
                function("llama_backend_init", FunctionDescriptor.ofVoid()).invokeExact();
            } catch (Throwable e) {
                throw new LlamaException("llama_backend_init failed", e);
            }
        }
    }

    private static Path extract() {
        String resource = "/de/kherud/llama/" + platformFolder() + "/libjllama.so";
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new LlamaException("llama.cpp library not found on the classpath at " + resource
                        + " (is de.kherud:llama on the classpath?)");
            }
            // A private directory, so no other local user can swap the library between write and dlopen.
            Path dir = Files.createTempDirectory(
                    "parley-llama-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path library = dir.resolve("libjllama.so");
            Files.copy(in, library, StandardCopyOption.REPLACE_EXISTING);
            // Delete on exit in reverse order of creation: first the file, then its directory.
            dir.toFile().deleteOnExit();
            library.toFile().deleteOnExit();
            return library;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract llama.cpp library " + resource, e);
        }
    }

    private static String platformFolder() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux")) {
            throw new LlamaException("the llama.cpp engine runs on Linux only, not on " + os);
        }
        return switch (arch) {
            case "amd64", "x86_64" -> "Linux/x86_64";
            case "aarch64", "arm64" -> "Linux/aarch64";
            default -> throw new LlamaException("the llama.cpp engine has no library for Linux on " + arch);
        };
    }

    private static SymbolLookup open(Path library) {
        try {
            return SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException e) {
            // dlopen's own message is lost here; the usual cause is a missing system library, so name it.
            throw new LlamaException("cannot load llama.cpp library " + library + missingSystemLibraries(), e);
        }
    }

    private static String missingSystemLibraries() {
        List<String> missing = new ArrayList<>();
        for (String[] needed : new String[][] {{"libgomp.so.1", "libgomp1"}, {"libstdc++.so.6", "libstdc++6"}}) {
            try {
                SymbolLookup.libraryLookup(needed[0], Arena.global());
            } catch (IllegalArgumentException e) {
                missing.add(needed[0] + " (Debian/Ubuntu package " + needed[1] + ")");
            }
        }
        return missing.isEmpty()
                ? ""
                : ": missing system libraries " + String.join(", ", missing) + "; install them, e.g. apt-get install libgomp1 libstdc++6";
    }
}
