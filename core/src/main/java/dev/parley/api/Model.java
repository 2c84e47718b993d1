package dev.parley.api;

/** A {@code model} object of {@code GET /v1/models}. */
public record Model(String id, String object, long created, String ownedBy) {
    public static final String OBJECT = "model";

    public static Model of(String id, long created, String ownedBy) {
        return new Model(id, OBJECT, created, ownedBy);
    }
}
