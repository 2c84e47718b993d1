package dev.parley.server.engine.llama.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.parley.server.CacheFolder;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * llama.cpp's shared libraries (release v0.5.0), opened once per JVM.
 *
 * <p>Where they come from, first match wins: the folder given to {@link #configure} ({@code --llama-lib}),
 * the environment variable {@code PARLEY_LLAMA_LIB}, or the prebuilt package for this machine, fetched and
 * verified by {@link PrebuiltLibrary} (its GPU sibling when {@code PARLEY_LLAMA_VARIANT} or {@link #configure}
 * names one). The folder must hold {@code libggml-base}, {@code libggml} and {@code libllama} (any suffix:
 * {@code libllama.so}, {@code libllama.v0.5.0.so}, {@code .dylib}, {@code .dll}); ggml's backends in it
 * ({@code libggml-cpu-<family>}, {@code libggml-cuda}, …) are loaded by {@code ggml_backend_load_all_from_path},
 * which picks the CPU variant that suits this processor; for the prebuilt CPU package that choice is remembered
 * per processor and later starts load (and verify) that variant alone ({@link CpuBackendChoice}). Libraries are
 * opened with {@code dlopen} through {@link SymbolLookup#libraryLookup}; llama.cpp's log is routed into SLF4J
 * before anything else runs.
 *
 * <p>Thread-safe: loading runs once, under this class's lock; a failure is remembered and thrown again,
 * with the caller's stack, by every later call.
 */
@SuppressWarnings("restricted") // this package is the native boundary: it reinterprets C pointers by design
public final class NativeLibrary {
    /** The release whose API {@link Bindings} and {@link Structs} mirror. */
    public static final String RELEASE = "0.5";

    private static final Logger log = LoggerFactory.getLogger(NativeLibrary.class);
    private static final Linker LINKER = Linker.nativeLinker();
    private static Path configuredFolder; // guarded by the class
    private static String configuredVariant = ""; // guarded by the class
    private static volatile Loaded loaded;
    private static RuntimeException failure; // guarded by the class

    private NativeLibrary() {}

    /**
     * What was loaded.
     *
     * @param folder where the libraries are
     * @param origin how they were chosen: the npm package, {@code --llama-lib} or {@code PARLEY_LLAMA_LIB}
     * @param version what {@code llama_version()} says, e.g. {@code 0.5.0}
     * @param devices the backend devices ggml found, CPU included
     * @param backends the backend libraries loaded from {@code folder} (e.g. {@code libggml-cpu-haswell.so});
     *     empty where the process's memory map cannot be read
     */
    public record Loaded(
            Path folder, String origin, String version, List<BackendDevice> devices, List<String> backends) {
        /** Whether any device can take model layers. */
        public boolean offloads() {
            return devices.stream().anyMatch(BackendDevice::offloads);
        }

        /** One line for the start-up log. */
        public String describe() {
            return "llama.cpp %s from %s (%s); devices: %s%s"
                    .formatted(
                            version,
                            origin,
                            folder,
                            String.join(
                                    ", ",
                                    devices.stream()
                                            .map(BackendDevice::toString)
                                            .toList()),
                            backends.isEmpty() ? "" : "; backends: " + String.join(", ", backends));
        }
    }

    /**
     * Chooses the libraries before the first load: {@code folder} (null: the default order of the class
     * comment), and for the prebuilt package a GPU variant ({@code cuda}, {@code vulkan}; null or empty: CPU).
     *
     * @throws IllegalStateException when libraries from elsewhere are loaded already
     */
    public static synchronized void configure(Path folder, String variant) {
        Path normalised = folder == null ? null : folder.toAbsolutePath().normalize();
        String variantName = variant == null ? "" : variant.strip().toLowerCase(Locale.ROOT);
        if (loaded != null) {
            // Asking again for what was loaded is fine; asking for another build is not.
            if (!Objects.equals(normalised, configuredFolder) || !variantName.equals(configuredVariant)) {
                throw new IllegalStateException(
                        "llama.cpp is loaded already, from " + loaded.folder() + "; one JVM serves one build of it");
            }
            return;
        }
        configuredFolder = normalised;
        configuredVariant = variantName;
        failure = null;
    }

    /**
     * Loads the libraries, if no one has yet.
     *
     * @throws LlamaLibraryException when they cannot be found, fetched or loaded; every later call throws
     *     it again
     */
    public static Loaded load() {
        Loaded current = loaded;
        return current != null ? current : loadOnce();
    }

    private static synchronized Loaded loadOnce() {
        if (loaded != null) return loaded;
        if (failure != null) throw new LlamaLibraryException(failure.getMessage(), failure);
        try {
            loaded = open();
            return loaded;
        } catch (RuntimeException e) {
            failure = e;
            throw e instanceof LlamaLibraryException ? e : new LlamaLibraryException(e.getMessage(), e);
        }
    }

    /** A handle on {@code name} in the loaded libraries, failing with its name when the build lacks it. */
    static MethodHandle function(String name, FunctionDescriptor descriptor) {
        return function(symbol(name), descriptor);
    }

    /** A handle on a function {@link #symbol} found. */
    static MethodHandle function(MemorySegment symbol, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol, descriptor);
    }

    /** Looks up {@code name} in the loaded libraries, failing with its name when the build lacks it. */
    static MemorySegment symbol(String name) {
        if (Symbols.LOOKUP == null) load(); // during loading itself the lookup is already set
        return Symbols.LOOKUP
                .find(name)
                .orElseThrow(() -> new LlamaLibraryException(
                        "The llama.cpp library has no symbol " + name + ": it is not a build of release v" + RELEASE));
    }

    static Linker linker() {
        return LINKER;
    }

    /** The combined lookup, set once by {@link #open} before any handle is made. */
    private static final class Symbols {
        static volatile SymbolLookup LOOKUP;
    }

    private static Loaded open() {
        String origin;
        Path folder;
        Optional<Remembered> cpu = Optional.empty();
        String env = System.getenv("PARLEY_LLAMA_LIB");
        if (configuredFolder != null) {
            folder = configuredFolder;
            origin = "--llama-lib";
        } else if (env != null && !env.isBlank()) {
            folder = Path.of(env).toAbsolutePath().normalize();
            origin = "PARLEY_LLAMA_LIB";
        } else {
            String variant = !configuredVariant.isEmpty()
                    ? configuredVariant
                    : Optional.ofNullable(System.getenv("PARLEY_LLAMA_VARIANT"))
                            .orElse("")
                            .strip()
                            .toLowerCase(Locale.ROOT);
            PrebuiltLibrary.Package pkg = PrebuiltLibrary.forThisMachine(variant);
            Path root = CacheFolder.root();
            // A CPU package holds CPU variants only; a GPU package's other backends are loaded as before.
            Optional<Remembered> memo = variant.isEmpty() && System.getenv("GGML_BACKEND_PATH") == null
                    ? Remembered.of(pkg, PrebuiltLibrary.folder(pkg, root))
                    : Optional.empty();
            cpu = memo;
            folder = PrebuiltLibrary.ensure(
                    pkg,
                    root,
                    file -> memo.map(remembered -> remembered.loads(file)).orElse(true));
            origin = "npm package " + pkg.spec();
        }
        if (!Files.isDirectory(folder)) {
            throw new LlamaLibraryException("No llama.cpp library folder at " + folder + " (from " + origin + ")");
        }
        // dlopen runs the libraries' initialisers: a folder of something else must not get that far.
        Path llama = find(folder, "llama");
        Path ggml = find(folder, "ggml");
        Path base = find(folder, "ggml-base");
        SymbolLookup lookup = open(llama).or(open(ggml)).or(open(base));
        Symbols.LOOKUP = lookup;
        String version = callString(lookup, "llama_version");
        if (!version.startsWith(RELEASE + ".")) {
            throw new LlamaLibraryException(
                    "The llama.cpp library at %s is release %s; Parley binds release v%s (its structs differ between releases)"
                            .formatted(llama, version, RELEASE));
        }
        // Order matters: the log callback must be in place before the backends print anything.
        LlamaLog.install();
        try (Arena arena = Arena.ofConfined()) {
            if (!loadRemembered(lookup, folder, cpu, arena)) {
                downcall(lookup, "ggml_backend_load_all_from_path", FunctionDescriptor.ofVoid(ADDRESS))
                        .invokeExact(arena.allocateFrom(folder.toString()));
            }
            downcall(lookup, "llama_backend_init", FunctionDescriptor.ofVoid()).invokeExact();
        } catch (Throwable e) {
            throw e instanceof LlamaLibraryException known
                    ? known
                    : new LlamaLibraryException("llama.cpp's backends failed to initialise from " + folder, e);
        }
        List<String> backends = CpuBackendChoice.loadedBackends(folder);
        cpu.ifPresent(memo -> memo.rememberFrom(folder, backends));
        List<BackendDevice> devices = devices(lookup);
        if (devices.isEmpty()) {
            throw new LlamaLibraryException("ggml found no backend in " + folder + " (it holds "
                    + PrebuiltLibrary.listing(folder) + "); a CPU backend, libggml-cpu*, is needed");
        }
        return new Loaded(folder, origin, version, List.copyOf(devices), backends);
    }

    /**
     * Registers the CPU variant remembered for this processor, if there is one; whether it did. When it does not
     * load, the variants that were not checked are checked now, before ggml opens them all to choose again.
     */
    private static boolean loadRemembered(SymbolLookup lookup, Path folder, Optional<Remembered> cpu, Arena arena)
            throws Throwable {
        Optional<String> remembered = cpu.flatMap(Remembered::file);
        if (remembered.isEmpty()) return false;
        // ggml_backend_load asks the variant's ggml_backend_score first, as ggml's own choice does, and answers
        // NULL when this processor cannot run it.
        Path file = folder.resolve(remembered.get());
        var registered = (MemorySegment) downcall(lookup, "ggml_backend_load", FunctionDescriptor.of(ADDRESS, ADDRESS))
                .invokeExact(arena.allocateFrom(file.toString()));
        if (!registered.equals(MemorySegment.NULL)) return true;
        log.warn("The remembered CPU backend {} did not load; letting ggml choose again", file);
        cpu.get().verifyAll(folder);
        return false;
    }

    /**
     * What this processor's fingerprint remembers of a prebuilt CPU package: the CPU variant ggml chose at an
     * earlier start, if any.
     */
    private record Remembered(PrebuiltLibrary.Package pkg, String fingerprint, Optional<String> file) {
        static Optional<Remembered> of(PrebuiltLibrary.Package pkg, Path folder) {
            return CpuBackendChoice.fingerprint()
                    .map(fingerprint -> new Remembered(
                            pkg,
                            fingerprint,
                            CpuBackendChoice.remembered(folder, fingerprint, PrebuiltLibrary.files(pkg, folder))));
        }

        /** Whether this start loads (and so checks) {@code file}: every file but the CPU variants not remembered. */
        boolean loads(String file) {
            return this.file.isEmpty()
                    || !CpuBackendChoice.isCpuBackend(file)
                    || this.file.get().equals(file);
        }

        /** Checks the variants that were not checked, before ggml opens them all. */
        void verifyAll(Path folder) {
            String problem = PrebuiltLibrary.verify(pkg, folder);
            if (problem != null) {
                throw new LlamaLibraryException("The cached llama.cpp library at " + folder + " fails its check: "
                        + problem + "; delete that folder and start again to fetch it anew");
            }
        }

        /** Writes down the CPU variant ggml chose, when it chose one now. */
        void rememberFrom(Path folder, List<String> loaded) {
            List<String> cpus =
                    loaded.stream().filter(CpuBackendChoice::isCpuBackend).toList();
            if (cpus.size() == 1 && !file.equals(Optional.of(cpus.getFirst())))
                CpuBackendChoice.remember(folder, fingerprint, cpus.getFirst());
        }
    }

    /** The one library of a kind in {@code folder}: {@code libggml.so} or {@code libggml.v0.5.0.so} for "ggml". */
    private static Path find(Path folder, String kind) {
        List<Path> matches = new ArrayList<>();
        try (Stream<Path> files = Files.list(folder)) {
            files.filter(file -> isLibrary(file.getFileName().toString(), kind)).forEach(matches::add);
        } catch (IOException e) {
            throw new LlamaLibraryException("Cannot list the llama.cpp library folder " + folder + ": " + e, e);
        }
        if (matches.isEmpty()) {
            throw new LlamaLibraryException(
                    "No %s library in %s (it holds %s)".formatted(kind, folder, PrebuiltLibrary.listing(folder)));
        }
        matches.sort(null);
        return matches.getFirst();
    }

    static boolean isLibrary(String file, String kind) {
        String name = file.startsWith("lib") ? file.substring(3) : file;
        if (!name.startsWith(kind)) return false;
        String rest = name.substring(kind.length()); // "" + suffix, or ".v0.5.0" + suffix, or ".so.0"
        return rest.matches("(\\.v?[0-9][0-9.]*)?\\.(so|dylib|dll)(\\.[0-9.]+)?")
                || rest.matches("\\.(metal|cuda|vulkan)\\.v[0-9.]+\\.(so|dylib|dll)");
    }

    private static SymbolLookup open(Path library) {
        try {
            return SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException e) {
            // dlopen's own message is lost here; the usual cause is a missing system library, so name it.
            throw new LlamaLibraryException("Cannot load " + library + missingSystemLibraries(), e);
        }
    }

    private static String missingSystemLibraries() {
        List<String> missing = new ArrayList<>();
        for (String[] needed : new String[][] {{"libstdc++.so.6", "libstdc++6"}, {"libgcc_s.so.1", "libgcc-s1"}}) {
            try {
                SymbolLookup.libraryLookup(needed[0], Arena.global());
            } catch (IllegalArgumentException e) {
                missing.add(needed[0] + " (Debian/Ubuntu package " + needed[1] + ")");
            }
        }
        return missing.isEmpty()
                ? " (is it a build for this processor and operating system?)"
                : ": missing system libraries " + String.join(", ", missing);
    }

    private static MethodHandle downcall(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(
                lookup.find(name)
                        .orElseThrow(() -> new LlamaLibraryException("The llama.cpp library has no symbol " + name
                                + ": it is not a build of release v" + RELEASE)),
                descriptor);
    }

    private static String callString(SymbolLookup lookup, String name) {
        try {
            return string((MemorySegment)
                    downcall(lookup, name, FunctionDescriptor.of(ADDRESS)).invokeExact());
        } catch (Throwable e) {
            throw Bindings.rethrow(e);
        }
    }

    private static List<BackendDevice> devices(SymbolLookup lookup) {
        try {
            MethodHandle count = downcall(lookup, "ggml_backend_dev_count", FunctionDescriptor.of(JAVA_LONG));
            MethodHandle get = downcall(lookup, "ggml_backend_dev_get", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
            MethodHandle name = downcall(lookup, "ggml_backend_dev_name", FunctionDescriptor.of(ADDRESS, ADDRESS));
            MethodHandle description =
                    downcall(lookup, "ggml_backend_dev_description", FunctionDescriptor.of(ADDRESS, ADDRESS));
            MethodHandle type = downcall(lookup, "ggml_backend_dev_type", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            MethodHandle memory =
                    downcall(lookup, "ggml_backend_dev_memory", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
            List<BackendDevice> devices = new ArrayList<>();
            long n = (long) count.invokeExact();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment free = arena.allocate(JAVA_LONG);
                MemorySegment total = arena.allocate(JAVA_LONG);
                for (long i = 0; i < n; i++) {
                    MemorySegment device = (MemorySegment) get.invokeExact(i);
                    MemorySegment nameText = (MemorySegment) name.invokeExact(device);
                    MemorySegment descriptionText = (MemorySegment) description.invokeExact(device);
                    int kind = (int) type.invokeExact(device);
                    memory.invokeExact(device, free, total);
                    devices.add(new BackendDevice(
                            string(nameText), string(descriptionText), typeName(kind), total.get(JAVA_LONG, 0)));
                }
            }
            return devices;
        } catch (Throwable e) {
            throw Bindings.rethrow(e);
        }
    }

    private static volatile Boolean usesAmx; // asked for by the first model that needs to know

    /**
     * Whether the CPU backend puts weights in Intel's AMX units (the processor and the variant have them), whose
     * products are wrong in some shapes ({@code LlamaModel}): AMX among its extra buffer types. Asked once, when a
     * model first needs it: the downcalls it makes took tens of milliseconds of a start.
     */
    public static boolean usesAmx() {
        Boolean uses = usesAmx;
        if (uses == null) {
            load();
            usesAmx = uses = cpuWeightBuffers(Symbols.LOOKUP).contains("AMX");
        }
        return uses;
    }

    /**
     * The extra buffer types of the CPU device ({@code ggml_backend_dev_get_extra_bufts}, which the CPU backend
     * offers through its registry rather than as a symbol), as ggml names them ({@code AMX}, {@code CPU_REPACK});
     * empty when there is no CPU device or it offers none.
     */
    private static List<String> cpuWeightBuffers(SymbolLookup lookup) {
        try {
            MethodHandle byType =
                    downcall(lookup, "ggml_backend_dev_by_type", FunctionDescriptor.of(ADDRESS, JAVA_INT));
            MethodHandle registry =
                    downcall(lookup, "ggml_backend_dev_backend_reg", FunctionDescriptor.of(ADDRESS, ADDRESS));
            MethodHandle procAddress = downcall(
                    lookup, "ggml_backend_reg_get_proc_address", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
            MethodHandle bufferName =
                    downcall(lookup, "ggml_backend_buft_name", FunctionDescriptor.of(ADDRESS, ADDRESS));
            MemorySegment cpu = (MemorySegment) byType.invokeExact(0); // GGML_BACKEND_DEVICE_TYPE_CPU
            if (cpu.equals(MemorySegment.NULL)) return List.of();
            MemorySegment reg = (MemorySegment) registry.invokeExact(cpu);
            MemorySegment function;
            try (Arena arena = Arena.ofConfined()) {
                function = (MemorySegment)
                        procAddress.invokeExact(reg, arena.allocateFrom("ggml_backend_dev_get_extra_bufts"));
            }
            if (function.equals(MemorySegment.NULL)) return List.of();
            MemorySegment types =
                    (MemorySegment) LINKER.downcallHandle(function, FunctionDescriptor.of(ADDRESS, ADDRESS))
                            .invokeExact(cpu);
            if (types.equals(MemorySegment.NULL)) return List.of();
            // A NULL-terminated array of buffer types; a CPU backend has a handful at most.
            MemorySegment array = types.reinterpret(ADDRESS.byteSize() * 64);
            List<String> names = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                MemorySegment type = array.getAtIndex(ADDRESS, i);
                if (type.equals(MemorySegment.NULL)) break;
                names.add(string((MemorySegment) bufferName.invokeExact(type)));
            }
            return List.copyOf(names);
        } catch (Throwable e) {
            throw Bindings.rethrow(e);
        }
    }

    private static String string(MemorySegment text) {
        return text.equals(MemorySegment.NULL)
                ? ""
                : text.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static String typeName(int type) {
        return switch (type) {
            case 0 -> "cpu";
            case 1 -> "gpu";
            case 2 -> "igpu";
            case 3 -> "accel";
            case 4 -> "meta";
            default -> "unknown";
        };
    }
}
