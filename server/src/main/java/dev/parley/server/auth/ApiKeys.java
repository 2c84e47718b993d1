package dev.parley.server.auth;

import dev.parley.api.ApiError;
import dev.parley.api.AuthenticationException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The auth stage of the request path: an {@code Authorization: Bearer KEY} header → the {@link Tenant}
 * of that key. Keys are held only as SHA-256 digests; a presented key is hashed and compared with every
 * stored digest in constant time, so neither the match nor its position shows in the timing. Keys are
 * never logged or echoed.
 *
 * <p>Keys from a file can be {@linkplain #reload reloaded} while serving: the new set replaces the old
 * one at once, so a request is checked against one set or the other, never a mix, and requests already
 * admitted run on. Thread-safe.
 */
public final class ApiKeys {
    private static final Logger log = LoggerFactory.getLogger(ApiKeys.class);
    private static final String LEARN_MORE =
            " You can find your API key at https://platform.openai.com/account/api-keys.";

    private final Path file;
    private volatile List<Stored> keys;

    private record Stored(byte[] digest, Tenant tenant) {}

    private ApiKeys(Path file, List<Stored> keys) {
        this.file = file;
        this.keys = keys;
    }

    /** No keys: every request is {@link Tenant#OPEN}. */
    public static ApiKeys open() {
        return new ApiKeys(null, null);
    }

    /**
     * The keys of a keys file.
     *
     * @throws IllegalArgumentException when the file is unreadable or holds no keys
     */
    public static ApiKeys load(Path file) {
        if (!Files.exists(file))
            throw new IllegalArgumentException(
                    "no keys file at " + file + " (make one with: parley keys add --file " + file + " --name NAME)");
        List<Stored> keys = stored(file);
        if (keys.isEmpty()) throw new IllegalArgumentException("no keys in " + file);
        return new ApiKeys(file, keys);
    }

    private static List<Stored> stored(Path file) {
        return KeysFile.read(file).stream()
                .map(e -> new Stored(HexFormat.of().parseHex(e.sha256()), e.tenant()))
                .toList();
    }

    /** The keys file these keys come from; null when every request is accepted. */
    public Path file() {
        return file;
    }

    /**
     * Reads the keys file again and serves its keys from now on: a removed key is refused at its next
     * request, a new one accepted, changed limits and models apply. A file that is missing, cannot be read
     * or is invalid changes nothing (and is logged); a file with no keys left refuses every key.
     *
     * @return whether the keys were replaced
     */
    public boolean reload() {
        if (file == null) return false;
        if (!Files.exists(file)) {
            log.warn("Keeping the keys in use: {} is gone", file); // often a moment in an editor's save
            return false;
        }
        List<Stored> fresh;
        try {
            fresh = stored(file);
        } catch (RuntimeException e) {
            log.warn("Keeping the keys in use: {}", e.getMessage());
            return false;
        }
        keys = fresh;
        log.info("Reloaded {} key{} from {}", fresh.size(), fresh.size() == 1 ? "" : "s", file);
        return true;
    }

    public boolean isOpen() {
        return file == null;
    }

    public int size() {
        List<Stored> current = keys;
        return current == null ? 0 : current.size();
    }

    /**
     * The tenant of an {@code Authorization} header value.
     *
     * @throws AuthenticationException 401 {@code invalid_api_key} when the key is missing or unknown
     */
    public Tenant authenticate(String authorization) {
        List<Stored> keys = this.keys;
        if (keys == null) return Tenant.OPEN;
        String key = authorization == null ? "" : authorization.strip();
        if (key.regionMatches(true, 0, "Bearer ", 0, 7)) key = key.substring(7).strip();
        else key = "";
        if (key.isEmpty()) {
            throw invalid(
                    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
        }
        byte[] digest = KeysFile.digest(key);
        Tenant found = null;
        for (Stored stored : keys) {
            // Every digest is compared, match or not, so the time taken says nothing about which matched.
            if (MessageDigest.isEqual(digest, stored.digest()) & found == null) found = stored.tenant();
        }
        if (found == null) throw invalid("Incorrect API key provided.");
        return found;
    }

    /** The tenant of the key named {@code name}, for work a key started earlier (a batch); empty once it is gone. */
    public Optional<Tenant> tenant(String name) {
        List<Stored> current = keys;
        if (current == null) return Tenant.OPEN.name().equals(name) ? Optional.of(Tenant.OPEN) : Optional.empty();
        return current.stream()
                .map(Stored::tenant)
                .filter(t -> t.name().equals(name))
                .findFirst();
    }

    private static AuthenticationException invalid(String message) {
        return new AuthenticationException(
                new ApiError(message + LEARN_MORE, ApiError.INVALID_REQUEST, null, "invalid_api_key"));
    }
}
