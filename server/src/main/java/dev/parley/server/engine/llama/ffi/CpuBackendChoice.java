package dev.parley.server.engine.llama.ffi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Which of a prebuilt package's CPU backends ({@code libggml-cpu-<family>}) this processor runs, remembered in
 * the package's folder.
 *
 * <p>{@code ggml_backend_load_all_from_path} opens every CPU variant to ask each how well it suits the
 * processor, so every one of them has to be verified first: on linux-x64 that is sixteen files, 23 MB hashed on
 * every start. Once ggml has chosen, the choice is written down under a fingerprint of the processor (its
 * vendor, model and feature flags from {@code /proc/cpuinfo}); later starts on the same processor verify and
 * load that variant alone. Another processor (a cache folder shared between machines, a VM moved to another
 * host) has another fingerprint, so ggml chooses again. Where there is no {@code /proc} (no fingerprint, no
 * memory map to read) nothing is remembered and every start loads them all.
 */
final class CpuBackendChoice {
    static final String CPU_PREFIX = "libggml-cpu";
    private static final String MEMO_PREFIX = ".cpu-backend-";

    private CpuBackendChoice() {}

    /** A fingerprint of this processor, from {@code /proc/cpuinfo}; empty where there is none. */
    static Optional<String> fingerprint() {
        try {
            return fingerprint(Files.readString(Path.of("/proc/cpuinfo")), System.getProperty("os.arch", ""));
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }

    /**
     * The fingerprint of {@code cpuinfo}'s first processor: the lines that name it and its features (x86's
     * {@code vendor_id}, {@code model name}, {@code flags}; Arm's {@code CPU implementer}, {@code CPU part},
     * {@code Features}) with the architecture, hashed. Empty when none of those lines is there.
     */
    static Optional<String> fingerprint(String cpuinfo, String arch) {
        Set<String> keys = Set.of("vendor_id", "model name", "flags", "cpu implementer", "cpu part", "features");
        StringBuilder described = new StringBuilder(arch).append('\n');
        boolean any = false;
        for (String line : cpuinfo.split("\n")) {
            if (line.isBlank()) {
                if (any) break; // the first processor's block has ended
                continue;
            }
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String key = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            if (!keys.contains(key)) continue;
            described
                    .append(key)
                    .append('=')
                    .append(line.substring(colon + 1).strip())
                    .append('\n');
            any = true;
        }
        if (!any) return Optional.empty();
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(described.toString().getBytes(StandardCharsets.UTF_8));
            return Optional.of(HexFormat.of().formatHex(hash, 0, 8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
        }
    }

    /**
     * The CPU backend remembered in {@code folder} for the processor {@code fingerprint}, if it is one of the
     * package's own CPU backends ({@code files}, the names its checksums cover).
     */
    static Optional<String> remembered(Path folder, String fingerprint, Set<String> files) {
        try {
            String file =
                    Files.readString(folder.resolve(MEMO_PREFIX + fingerprint)).strip();
            return isCpuBackend(file) && files.contains(file) ? Optional.of(file) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Writes down that the processor {@code fingerprint} runs {@code file}; a folder that cannot take it is left as is. */
    static void remember(Path folder, String fingerprint, String file) {
        Path memo = folder.resolve(MEMO_PREFIX + fingerprint);
        try {
            Path written = Files.createTempFile(folder, MEMO_PREFIX, ".tmp");
            try {
                Files.writeString(written, file + "\n");
                Files.move(written, memo, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(written);
            }
        } catch (IOException | UnsupportedOperationException e) {
            // A read-only cache: ggml chooses again at the next start, as it did at this one.
        }
    }

    /**
     * The ggml backend libraries of {@code folder} this process has mapped ({@code libggml-cpu-*},
     * {@code libggml-cuda}, …: not libggml-base, libggml or libllama), read from {@code /proc/self/maps};
     * empty where there is no such file.
     */
    static List<String> loadedBackends(Path folder) {
        try {
            return loadedBackends(Files.readAllLines(Path.of("/proc/self/maps")), folder);
        } catch (IOException | SecurityException e) {
            return List.of();
        }
    }

    /** {@link #loadedBackends(Path)} over the lines of a {@code maps} file, in the order first mapped. */
    static List<String> loadedBackends(List<String> maps, Path folder) {
        String prefix = folder.toAbsolutePath().normalize() + "/";
        List<String> found = new ArrayList<>();
        for (String line : maps) {
            int path = line.indexOf(" /");
            if (path < 0) continue;
            String mapped = line.substring(path + 1);
            if (!mapped.startsWith(prefix)) continue;
            String file = mapped.substring(prefix.length());
            if (file.contains("/") || found.contains(file)) continue;
            if (isBackend(file)) found.add(file);
        }
        return List.copyOf(found);
    }

    static boolean isCpuBackend(String file) {
        return file.startsWith(CPU_PREFIX) && isBackend(file);
    }

    private static boolean isBackend(String file) {
        return file.startsWith("libggml-") && !file.startsWith("libggml-base") && PrebuiltLibrary.isCLibrary(file);
    }
}
