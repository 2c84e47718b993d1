package dev.parley.server.engine.template;

import java.util.List;
import java.util.Map;

/** Something a template can call: a macro, a global such as {@code range}, or a bound method such as {@code s.split}. */
@FunctionalInterface
interface Invocable {
    Object call(List<Object> args, Map<String, Object> kwargs);
}
