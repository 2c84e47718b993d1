package dev.parley.server.engine;

import dev.parley.api.Model;

/** One model an engine serves: its id, when it was made available, who owns it, and its context size. */
public record ModelCard(String id, long created, String ownedBy, int contextLength) {
    public Model toModel() {
        return Model.of(id, created, ownedBy);
    }
}
