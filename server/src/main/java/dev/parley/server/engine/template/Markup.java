package dev.parley.server.engine.template;

/**
 * The string the {@code safe} and {@code escape} filters return (markupsafe's {@code Markup}). It behaves as a plain
 * string everywhere except {@code +}: a plain string added to it, on either side, is HTML-escaped first.
 */
record Markup(String text) {
    static String escape(String s) {
        return s.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&#34;")
                .replace("'", "&#39;");
    }
}
