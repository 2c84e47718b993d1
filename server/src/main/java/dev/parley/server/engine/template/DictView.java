package dev.parley.server.engine.template;

import java.util.AbstractList;
import java.util.List;

/**
 * What {@code dict.items()}, {@code keys()} and {@code values()} return: iterable, sized and true when non-empty like a
 * list, but printed as {@code dict_items([...])}, and neither indexable, sliceable, addable nor JSON.
 */
final class DictView extends AbstractList<Object> {
    private final String kind;
    private final List<Object> items;

    DictView(String kind, List<Object> items) {
        this.kind = kind;
        this.items = items;
    }

    String kind() {
        return kind;
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
