package dev.parley.server.engine.template;

/**
 * jinja2's default {@code Undefined}: renders as nothing, is false, iterates as empty and has length 0, but raises
 * when called, indexed, compared by order, used in arithmetic or asked for an attribute.
 *
 * @param message what jinja2 says when it raises, e.g. {@code 'foo' is undefined}
 * @param unsafe true when the value stands for an attribute the sandbox forbids (raising a security error)
 */
record Undefined(String message, boolean unsafe) {
    static Undefined named(String name) {
        return new Undefined("'" + name + "' is undefined", false);
    }

    static Undefined attribute(Object owner, Object name) {
        String what = owner == null ? "'None'" : "'" + Values.typeName(owner) + " object'";
        return new Undefined(what + " has no attribute " + Values.repr(name), false);
    }

    static Undefined item(Object owner, Object key) {
        String what = owner == null ? "None" : Values.typeName(owner) + " object";
        return new Undefined(what + " has no element " + Values.repr(key), false);
    }

    static Undefined forbidden(Object owner, String name) {
        return new Undefined(
                "access to attribute '" + name + "' of '" + Values.typeName(owner) + "' object is unsafe.", true);
    }

    TemplateException error() {
        return unsafe
                ? new TemplateException(TemplateException.Kind.SECURITY, message)
                : TemplateException.undefined(message);
    }
}
