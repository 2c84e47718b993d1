package dev.parley.server.engine.grammar;

import java.util.Collection;
import java.util.List;
import java.util.TreeMap;

/**
 * A JSON string that is none of the given keys, for the keys {@code additionalProperties} admits. It is built
 * from a trie of the keys: at each node the string may end (unless a key ends there), continue with a child's
 * character, or continue with any other character and then anything. Characters are unescaped only, so an
 * escape can never spell a declared key in disguise.
 */
final class ExtraKeys {
    private ExtraKeys() {}

    private static final String KEY_CHAR = "[^\"\\\\\\x7F\\x00-\\x1F]";

    static String excluding(Collection<String> keys, Rules rules) {
        String keyChar = rules.add("key-char", KEY_CHAR);
        Node root = new Node();
        keys.forEach(key -> root.add(key.codePoints().toArray(), 0));
        return "\"\\\"\" " + root.spell(keyChar) + " \"\\\"\"";
    }

    private static final class Node {
        final TreeMap<Integer, Node> children = new TreeMap<>();
        boolean isKey;

        void add(int[] key, int from) {
            if (from == key.length) {
                isKey = true;
                return;
            }
            // A character that JSON must escape cannot be written here anyway; the class below excludes it.
            if (!plain(key[from])) {
                return;
            }
            children.computeIfAbsent(key[from], ignored -> new Node()).add(key, from + 1);
        }

        String spell(String keyChar) {
            StringBuilder other = new StringBuilder("[^\"\\\\\\x7F\\x00-\\x1F");
            children.keySet().forEach(cp -> other.append(Gbnf.escape(cp)));
            other.append("] ").append(keyChar).append('*');
            List<String> alternatives = new java.util.ArrayList<>();
            children.forEach((cp, child) -> alternatives.add(Gbnf.literal(cp) + " " + child.spell(keyChar)));
            alternatives.add(other.toString());
            if (!isKey) {
                alternatives.add(""); // the string may end here
            }
            return "( " + String.join(" | ", alternatives) + " )";
        }

        private static boolean plain(int cp) {
            return cp >= 0x20 && cp != '"' && cp != '\\' && cp != 0x7F;
        }
    }
}
