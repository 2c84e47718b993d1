package dev.parley.server.auth;

import dev.parley.api.ApiError;
import dev.parley.api.AuthenticationException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The auth stage of the request path: an {@code Authorization: Bearer KEY} header → the {@link Tenant}
 * of that key. Keys are held only as SHA-256 digests; a presented key is hashed and compared with every
 * stored digest in constant time, so neither the match nor its position shows in the timing. Keys are
 * never logged or echoed.
 */
public final class ApiKeys {
    private static final String LEARN_MORE =
            " You can find your API key at https://platform.openai.com/account/api-keys.";

    private final List<Stored> keys;

    private record Stored(byte[] digest, Tenant tenant) {}

    private ApiKeys(List<Stored> keys) {
        this.keys = keys;
    }

    /** No keys: every request is {@link Tenant#OPEN}. */
    public static ApiKeys open() {
        return new ApiKeys(null);
    }

    /**
     * The keys of a keys file.
     *
     * @throws IllegalArgumentException when the file is unreadable or holds no keys
     */
    public static ApiKeys load(Path file) {
        List<KeyEntry> entries = KeysFile.read(file);
        if (entries.isEmpty()) throw new IllegalArgumentException("no keys in " + file);
        return new ApiKeys(entries.stream()
                .map(e -> new Stored(HexFormat.of().parseHex(e.sha256()), e.tenant()))
                .toList());
    }

    public boolean isOpen() {
        return keys == null;
    }

    public int size() {
        return keys == null ? 0 : keys.size();
    }

    /**
     * The tenant of an {@code Authorization} header value.
     *
     * @throws AuthenticationException 401 {@code invalid_api_key} when the key is missing or unknown
     */
    public Tenant authenticate(String authorization) {
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
        if (keys == null) return Tenant.OPEN.name().equals(name) ? Optional.of(Tenant.OPEN) : Optional.empty();
        return keys.stream()
                .map(Stored::tenant)
                .filter(t -> t.name().equals(name))
                .findFirst();
    }

    private static AuthenticationException invalid(String message) {
        return new AuthenticationException(
                new ApiError(message + LEARN_MORE, ApiError.INVALID_REQUEST, null, "invalid_api_key"));
    }
}
