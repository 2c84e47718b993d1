package dev.parley.server.engine.reasoning;

import java.util.List;

/**
 * {@link ReasoningSyntax.Tags}: the reasoning is what comes between the opening tag, when the answer starts with
 * it (after white space) or the prompt opened it, and the closing tag; the answer is the rest, without the markup
 * some families put around it. White space at either end of the reasoning, and between the closing tag and the
 * answer, is left out, as templates render it back.
 */
final class TagParser implements ReasoningParser {
    private enum State {
        /** Nothing read but white space: the opening tag may come. */
        START,
        /** Just inside the reasoning: white space is left out. */
        REASONING_LEAD,
        REASONING,
        /** Just after the reasoning: white space is left out. */
        ANSWER_LEAD,
        ANSWER
    }

    private final String open;
    private final String close;
    private final List<String> answerMarkup;
    private final HeldText held = new HeldText();
    private State state;

    TagParser(String open, String close, List<String> answerMarkup, boolean insideReasoning) {
        this.open = open;
        this.close = close;
        this.answerMarkup = answerMarkup;
        this.state = insideReasoning ? State.REASONING_LEAD : State.START;
    }

    @Override
    public boolean inReasoning() {
        return state == State.REASONING_LEAD || state == State.REASONING;
    }

    @Override
    public void append(String text, Sink sink) {
        String pending = held.then(text);
        int at = 0;
        while (at < pending.length()) {
            switch (state) {
                case START -> {
                    int word = skipSpace(pending, at);
                    if (pending.startsWith(open, word)) {
                        state = State.REASONING_LEAD;
                        at = word + open.length();
                    } else if (open.startsWith(pending.substring(word))) {
                        held.hold(pending, at); // white space, or the start of the tag
                        return;
                    } else {
                        state = State.ANSWER; // an answer without reasoning, its white space kept
                    }
                }
                case REASONING_LEAD, ANSWER_LEAD -> {
                    at = skipSpace(pending, at);
                    if (at < pending.length()) state = state == State.REASONING_LEAD ? State.REASONING : State.ANSWER;
                }
                case REASONING -> {
                    int end = pending.indexOf(close, at);
                    if (end >= 0) {
                        send(sink, pending.substring(at, end).stripTrailing());
                        state = State.ANSWER_LEAD;
                        at = end + close.length();
                    } else {
                        // Held back: the start of a closing tag at the end, and the white space before it.
                        int kept = pending.length() - ReasoningParser.partialSuffix(pending, at, close);
                        while (kept > at && Character.isWhitespace(pending.charAt(kept - 1))) kept--;
                        send(sink, pending.substring(at, kept));
                        held.hold(pending, kept);
                        return;
                    }
                }
                case ANSWER -> {
                    // Held back: the start of the answer's markup at the end.
                    int partial = 0;
                    for (String markup : answerMarkup)
                        partial = Math.max(partial, ReasoningParser.partialSuffix(pending, at, markup));
                    String answer = withoutMarkup(pending.substring(at, pending.length() - partial));
                    if (!answer.isEmpty()) sink.content(answer);
                    held.hold(pending, pending.length() - partial);
                    return;
                }
            }
        }
    }

    @Override
    public void finish(Sink sink) {
        String rest = held.then("");
        if ((state == State.START || state == State.ANSWER) && !rest.isEmpty()) sink.content(rest);
        else if (state == State.REASONING) send(sink, rest.stripTrailing()); // cut off before its closing tag
    }

    /**
     * {@code text} without the answer's markup, read once from start to end: what is left where markup was taken out
     * is not read again, so that an answer splits alike however its text came in pieces.
     */
    private String withoutMarkup(String text) {
        if (answerMarkup.isEmpty()) return text;
        StringBuilder out = new StringBuilder(text.length());
        scan:
        for (int at = 0; at < text.length(); ) {
            for (String markup : answerMarkup) {
                if (text.startsWith(markup, at)) {
                    at += markup.length();
                    continue scan;
                }
            }
            out.append(text.charAt(at++));
        }
        return out.toString();
    }

    private static void send(Sink sink, String reasoning) {
        if (!reasoning.isEmpty()) sink.reasoning(reasoning);
    }

    private static int skipSpace(String text, int from) {
        while (from < text.length() && Character.isWhitespace(text.charAt(from))) from++;
        return from;
    }
}
