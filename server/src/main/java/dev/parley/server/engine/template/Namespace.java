package dev.parley.server.engine.template;

import java.util.LinkedHashMap;
import java.util.Map;

/** The object {@code namespace(...)} returns: the one value a template may change from inside a loop or macro. */
final class Namespace {
    final Map<String, Object> attributes = new LinkedHashMap<>();

    @Override
    public String toString() {
        return "<Namespace " + Values.repr(attributes) + ">";
    }
}
