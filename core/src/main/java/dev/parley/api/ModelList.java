package dev.parley.api;

import java.util.List;

/** The {@code list} answered by {@code GET /v1/models}. */
public record ModelList(String object, List<Model> data) {
    public static ModelList of(List<Model> models) {
        return new ModelList("list", List.copyOf(models));
    }
}
