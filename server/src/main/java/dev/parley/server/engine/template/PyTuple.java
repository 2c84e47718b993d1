package dev.parley.server.engine.template;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;

/** A Python tuple: a list that prints with parentheses and never equals a list. Items may be null (None). */
final class PyTuple extends AbstractList<Object> {
    private final List<Object> items;

    PyTuple(List<Object> items) {
        this.items = new ArrayList<>(items);
    }

    @Override
    public Object get(int index) {
        return items.get(index);
    }

    @Override
    public int size() {
        return items.size();
    }
}
