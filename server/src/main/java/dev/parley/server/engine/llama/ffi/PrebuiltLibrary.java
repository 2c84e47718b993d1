package dev.parley.server.engine.llama.ffi;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * llama.cpp's prebuilt libraries for this platform, from the npm package that carries them
 * ({@code @node-llama-cpp/<platform>}), kept in a cache folder outside any work tree.
 *
 * <p>The package is fetched with the npm client (so a user's registry settings and proxies apply), its
 * archive is checked against the registry's SHA-512 pinned here, and only the C libraries are unpacked:
 * {@code libllama}, {@code libggml}, {@code libggml-base} and the CPU-variant backends that ggml chooses
 * from at run time. Unpacking goes to a temporary folder that is renamed into place at the end, so the
 * cache never holds half a library. Every start checks each file it loads against its SHA-256 (pinned in
 * the project for linux-x64, else recorded when the verified archive was unpacked): all of them, or, once
 * {@link CpuBackendChoice} knows which CPU variant this processor runs, all but the other CPU variants (which
 * are then never opened). A file that changed is fetched again.
 *
 * <p>Thread-safe and process-safe: concurrent fetches each unpack into their own temporary folder and the
 * first rename wins.
 */
public final class PrebuiltLibrary {
    private static final Logger log = LoggerFactory.getLogger(PrebuiltLibrary.class);
    private static final String MANIFEST = "SHA256SUMS";

    /**
     * A package of prebuilt libraries of the bound release.
     *
     * @param platform the package's platform name, also its folder under {@code bins/}
     * @param integrity the registry's {@code dist.integrity} of that version
     */
    public record Package(String platform, String version, String integrity) {
        public String spec() {
            return "@node-llama-cpp/" + platform + "@" + version;
        }
    }

    /** The packages of llama.cpp v0.5.0 (node-llama-cpp 3.22.1): CPU builds, and GPU siblings chosen by name. */
    static final Map<String, Package> PACKAGES = packages(
            new Package(
                    "linux-x64",
                    "3.22.1",
                    "sha512-5uCCDNqWCNfaAm8aR/Uzxbo4HBpKgNF91kCHPepKhgMgV2OAmatoefbOlMihsqCiH2Od35E/eUHQCFbfRBJuOg=="),
            new Package(
                    "linux-arm64",
                    "3.22.1",
                    "sha512-W+7naKCXX9/eEjjFmRS8vvx91QyLXDbeFxexZc3bh/PtQABZgmRL3C0AtYYXn4YGTj/3Qor4lWZn2tpjZFPLdQ=="),
            new Package(
                    "linux-x64-cuda",
                    "3.22.1",
                    "sha512-8rQCjyNNLZJUFit+YpjwlC4hwkKgOMIkB2wuycKBf8NU2O3ySKbiWZQ8aw9ku2nUTXjSnUIrE6KB88itduTBuA=="),
            new Package(
                    "linux-x64-vulkan",
                    "3.22.1",
                    "sha512-bBxqU+JOcBu1nb5Qj2zcMci+JByT1E8EajHvYodyNfVIPkEhXh+/HMwR1/BT7xP08YK0hks+kM8fglER0P8JEg=="));

    private PrebuiltLibrary() {}

    private static Map<String, Package> packages(Package... packages) {
        Map<String, Package> map = new LinkedHashMap<>();
        for (Package p : packages) map.put(p.platform(), p);
        return Map.copyOf(map);
    }

    /**
     * The package for this machine: {@code variant} is empty for the CPU build, or a GPU sibling's suffix
     * ({@code cuda}, {@code vulkan}).
     *
     * @throws LlamaLibraryException when no prebuilt package of the bound release exists for this machine
     */
    public static Package forThisMachine(String variant) {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String platform;
        if (os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64"))) platform = "linux-x64";
        else if (os.contains("linux") && (arch.equals("aarch64") || arch.equals("arm64"))) platform = "linux-arm64";
        else {
            throw new LlamaLibraryException(("No prebuilt llama.cpp v0.5.0 is published for %s on %s (the macOS and"
                            + " Windows packages are of an older release). Build llama.cpp v0.5.0 as a shared library"
                            + " (cmake -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON) and pass"
                            + " its folder with --llama-lib or PARLEY_LLAMA_LIB.")
                    .formatted(os, arch));
        }
        String name = variant.isEmpty() ? platform : platform + "-" + variant;
        Package found = PACKAGES.get(name);
        if (found == null) {
            throw new LlamaLibraryException("No prebuilt llama.cpp v0.5.0 package " + name + "; known: "
                    + String.join(", ", PACKAGES.keySet().stream().sorted().toList()));
        }
        return found;
    }

    /**
     * The folder holding the package's verified libraries, fetching and unpacking it first when the cache
     * lacks it or a file in it no longer matches its checksum.
     *
     * @throws LlamaLibraryException when it cannot be fetched (no npm, offline, wrong checksum), with what to do
     */
    public static Path ensure(Package pkg, Path cacheRoot) {
        return ensure(pkg, cacheRoot, file -> true);
    }

    /**
     * As {@link #ensure(Package, Path)}, checking in a cached package only the files {@code loading} accepts:
     * the ones this process will load. A package fetched now is checked whole.
     */
    static Path ensure(Package pkg, Path cacheRoot, Predicate<String> loading) {
        Path folder = folder(pkg, cacheRoot);
        if (Files.isDirectory(folder)) {
            String problem = verify(pkg, folder, loading);
            if (problem == null) return folder;
            log.warn("The cached llama.cpp library at {} failed its check ({}); fetching it again", folder, problem);
            deleteTree(folder);
        }
        fetch(pkg, folder);
        String problem = verify(pkg, folder);
        if (problem != null)
            throw new LlamaLibraryException(
                    "The llama.cpp library just unpacked at " + folder + " fails its check: " + problem);
        return folder;
    }

    /** Where the cache under {@code cacheRoot} keeps {@code pkg}'s libraries. */
    static Path folder(Package pkg, Path cacheRoot) {
        return cacheRoot.resolve("llama.cpp").resolve(pkg.platform() + "-" + pkg.version());
    }

    /** Null when every file matches its SHA-256, else what is wrong. */
    static String verify(Package pkg, Path folder) {
        return verify(pkg, folder, file -> true);
    }

    /** Null when every file {@code which} accepts matches its SHA-256, else what is wrong. */
    static String verify(Package pkg, Path folder, Predicate<String> which) {
        try {
            Map<String, String> expected = checksums(pkg, folder);
            if (expected == null) return "no " + MANIFEST;
            if (expected.isEmpty()) return "an empty " + MANIFEST;
            // The files are hashed in parallel: this check runs on every start, and is most of the library's load.
            return expected.entrySet().stream().filter(file -> which.test(file.getKey())).toList().parallelStream()
                    .map(file -> problem(folder, file.getKey(), file.getValue()))
                    .filter(Objects::nonNull)
                    .findFirst()
                    .orElse(null);
        } catch (IOException | UncheckedIOException e) {
            return e.toString();
        }
    }

    /** The names of the package's files in {@code folder}, as its checksums list them; empty when unknown. */
    static Set<String> files(Package pkg, Path folder) {
        try {
            Map<String, String> checksums = checksums(pkg, folder);
            return checksums == null ? Set.of() : Set.copyOf(checksums.keySet());
        } catch (IOException | UncheckedIOException e) {
            return Set.of();
        }
    }

    /** The checksums of the package's files: pinned here, else the manifest written at unpacking; null if none. */
    private static Map<String, String> checksums(Package pkg, Path folder) throws IOException {
        Map<String, String> pinned = pinned(pkg);
        if (pinned != null) return pinned;
        Path manifest = folder.resolve(MANIFEST);
        return Files.isRegularFile(manifest) ? parseManifest(Files.readString(manifest)) : null;
    }

    /** Null when {@code name} in {@code folder} has SHA-256 {@code sha256}, else what is wrong. */
    private static String problem(Path folder, String name, String sha256) {
        Path path = folder.resolve(name);
        if (!Files.isRegularFile(path)) return name + " is missing";
        String actual;
        try (InputStream in = Files.newInputStream(path)) {
            actual = HexFormat.of().formatHex(digest("SHA-256", in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return actual.equals(sha256) ? null : name + " has SHA-256 " + actual + ", expected " + sha256;
    }

    /** The checksums this project pins for a package's files, or null when it pins none for it. */
    private static Map<String, String> pinned(Package pkg) throws IOException {
        try (InputStream in =
                PrebuiltLibrary.class.getResourceAsStream(pkg.platform() + "-" + pkg.version() + ".sha256")) {
            return in == null ? null : parseManifest(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private static Map<String, String> parseManifest(String text) {
        Map<String, String> sums = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String[] parts = line.trim().split("\\s+", 2);
            if (parts.length == 2 && !parts[1].contains("/") && !parts[1].contains("..")) sums.put(parts[1], parts[0]);
        }
        return sums;
    }

    private static void fetch(Package pkg, Path folder) {
        Path root = folder.getParent();
        Path work = null;
        try {
            Files.createDirectories(root);
            work = Files.createTempDirectory(root, ".fetch-");
            log.info(
                    "Fetching llama.cpp v0.5.0 for {} ({}) with npm; once only, into {}",
                    pkg.platform(),
                    pkg.spec(),
                    folder);
            Path archive = npmPack(pkg, work);
            String integrity;
            try (InputStream in = Files.newInputStream(archive)) {
                integrity = "sha512-" + Base64.getEncoder().encodeToString(digest("SHA-512", in));
            }
            if (!integrity.equals(pkg.integrity())) {
                throw new LlamaLibraryException(
                        "The package %s fetched by npm has integrity %s, but the registry published %s: refusing to use it"
                                .formatted(pkg.spec(), integrity, pkg.integrity()));
            }
            Path unpacked = Files.createDirectory(work.resolve("lib"));
            unpack(archive, "package/bins/" + pkg.platform() + "/", unpacked);
            try {
                Files.move(unpacked, folder, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isDirectory(folder)) throw e; // else another process finished first: use its copy
            }
        } catch (IOException e) {
            throw new LlamaLibraryException("Cannot store the llama.cpp library under " + root + ": " + e, e);
        } finally {
            if (work != null) deleteTree(work);
        }
    }

    /** Runs {@code npm pack} into {@code into}; returns the archive. */
    private static Path npmPack(Package pkg, Path into) throws IOException {
        boolean windows =
                System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("win");
        List<String> command = List.of(
                windows ? "npm.cmd" : "npm",
                "pack",
                pkg.spec(),
                "--pack-destination",
                into.toString(),
                "--silent",
                "--no-fund",
                "--no-audit",
                "--no-update-notifier");
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).directory(into.toFile());
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new LlamaLibraryException(
                    ("Parley fetches llama.cpp v0.5.0 with npm (npm pack %s), and no npm was found: install"
                                    + " Node.js with npm, or pass --llama-lib DIR (or PARLEY_LLAMA_LIB) with a llama.cpp v0.5.0 build.")
                            .formatted(pkg.spec()),
                    e);
        }
        process.getOutputStream().close();
        String output;
        try (InputStream in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        try {
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new LlamaLibraryException("npm pack " + pkg.spec() + " did not finish in 10 minutes");
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new LlamaLibraryException("Interrupted while fetching " + pkg.spec(), e);
        }
        if (process.exitValue() != 0) {
            throw new LlamaLibraryException(
                    ("Cannot fetch llama.cpp v0.5.0: npm pack %s failed (exit %d). Is this machine offline?"
                                    + " npm said: %s%nOnce fetched, it is cached; alternatively pass --llama-lib DIR (or PARLEY_LLAMA_LIB).")
                            .formatted(pkg.spec(), process.exitValue(), output.isEmpty() ? "(nothing)" : output));
        }
        try (Stream<Path> files = Files.list(into)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".tgz"))
                    .findFirst()
                    .orElseThrow(() -> new LlamaLibraryException(
                            "npm pack " + pkg.spec() + " left no archive; npm said: " + output));
        }
    }

    /** Unpacks the C libraries under {@code prefix} and writes their manifest. */
    private static void unpack(Path archive, String prefix, Path into) throws IOException {
        StringBuilder manifest = new StringBuilder();
        try (TarGz tar = new TarGz(Files.newInputStream(archive))) {
            for (TarGz.Entry entry; (entry = tar.next()) != null; ) {
                if (!entry.path().startsWith(prefix)) continue;
                String name = entry.path().substring(prefix.length());
                if (!isCLibrary(name)) continue;
                byte[] data = tar.readEntry();
                Files.write(into.resolve(name), data);
                manifest.append(HexFormat.of().formatHex(digest("SHA-256", data)))
                        .append("  ")
                        .append(name)
                        .append('\n');
            }
        }
        if (manifest.isEmpty()) throw new LlamaLibraryException("The package holds no libraries under " + prefix);
        Files.writeString(into.resolve(MANIFEST), manifest);
    }

    /** libllama, libggml, libggml-base and the ggml backends; not the C++ helper library or the Node addon. */
    static boolean isCLibrary(String name) {
        if (name.contains("/") || name.contains("..")) return false;
        boolean library = name.endsWith(".so") || name.endsWith(".dylib") || name.endsWith(".dll");
        boolean ours = name.startsWith("libllama")
                || name.startsWith("libggml")
                || name.startsWith("llama")
                || name.startsWith("ggml");
        return library && ours && !name.contains("llama-common") && !name.contains("addon");
    }

    private static byte[] digest(String algorithm, InputStream in) throws IOException {
        MessageDigest digest = messageDigest(algorithm);
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
        return digest.digest();
    }

    private static byte[] digest(String algorithm, byte[] data) {
        return messageDigest(algorithm).digest(data);
    }

    private static MessageDigest messageDigest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is a required JDK algorithm", e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(path);
        } catch (IOException | UncheckedIOException e) {
            log.warn("Could not delete {}: {}", root, e.toString());
        }
    }

    /** The library files of a folder, for messages. */
    static List<String> listing(Path folder) {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(folder)) {
            for (Path file : files) names.add(file.getFileName().toString());
        } catch (IOException e) {
            return List.of();
        }
        names.sort(null);
        return names;
    }
}
