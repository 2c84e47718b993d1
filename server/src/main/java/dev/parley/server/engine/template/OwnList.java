package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.Collection;

/**
 * A list the template made itself ({@code []}, {@code [a, b]}, a list's {@code copy()}): one that it may change with
 * {@code append}, {@code extend}, {@code insert}, {@code pop}, {@code remove}, {@code clear} and {@code reverse}, as
 * llama.cpp's template engine lets it. Kimi K2's templates keep the ids of a conversation's calls in one. Everything
 * the template is given (messages, tools) and every constant folded at compile time stays read-only, as in jinja2's
 * immutable sandbox, so that a render cannot change what another reads; a literal is a new list each time it is
 * evaluated, as in Python.
 */
final class OwnList extends ArrayList<Object> {
    OwnList(Collection<?> items) {
        super(items);
    }
}
