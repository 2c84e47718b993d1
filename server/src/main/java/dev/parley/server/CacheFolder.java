package dev.parley.server;

import java.nio.file.Path;

/**
 * Where Parley keeps what it can fetch or make again (llama.cpp's prebuilt libraries, the demo model taken out of
 * the jar): {@code PARLEY_CACHE_DIR}, else {@code $XDG_CACHE_HOME/parley}, else {@code ~/.cache/parley}.
 */
public final class CacheFolder {
    private CacheFolder() {}

    public static Path root() {
        String configured = System.getenv("PARLEY_CACHE_DIR");
        if (configured != null && !configured.isBlank()) return Path.of(configured);
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "parley");
        return Path.of(System.getProperty("user.home"), ".cache", "parley");
    }
}
