package dev.parley.server.engine.reasoning;

import dev.parley.server.engine.tools.ToolSyntax;
import java.util.List;

/**
 * {@link ReasoningSyntax.Channels}: gpt-oss writes each message as a header ({@code <|channel|>analysis}, or {@code
 * <|start|>assistant<|channel|>final} after the first, perhaps with a recipient and {@code <|constrain|>}) then
 * {@code <|message|>} and the text, ended by {@code <|end|>} or the next header. The analysis channel's text is
 * reasoning, every other channel's the answer; headers and ends are left out. A message to a tool ({@code
 * to=functions.name}) is a call: from its recipient on it is answer text, for the tool call parser. An answer that
 * does not start with a header is all answer.
 */
final class ChannelParser implements ReasoningParser {
    private static final String START = "<|start|>";
    private static final String CHANNEL = "<|channel|>";
    private static final String MESSAGE = "<|message|>";
    private static final String END = "<|end|>";
    /** A message's recipient that makes it a tool call, as the tool call parser reads it. */
    private static final String CALL = ToolSyntax.HARMONY.trigger();

    private static final List<String> BOUNDARIES = List.of(END, START, CHANNEL);
    /** A header longer than this is not one: the model left the format, and what it wrote is the answer. */
    private static final int MAX_HEADER = 512;

    private enum State {
        /** Nothing read yet: a header may come. */
        FIRST,
        HEADER,
        BODY,
        /** The model does not write channels: all it writes is the answer. */
        PLAIN
    }

    private final HeldText held = new HeldText();
    private State state = State.FIRST;
    private boolean analysis; // the channel of the message being read

    @Override
    public boolean inReasoning() {
        return state == State.HEADER || state == State.BODY && analysis;
    }

    @Override
    public void append(String text, Sink sink) {
        String pending = held.then(text);
        int at = 0;
        while (at < pending.length()) {
            switch (state) {
                case FIRST -> {
                    String rest = pending.substring(at);
                    if (rest.startsWith(CHANNEL) || rest.startsWith(START)) {
                        state = State.HEADER;
                    } else if (CHANNEL.startsWith(rest) || START.startsWith(rest)) {
                        held.hold(rest, 0);
                        return;
                    } else {
                        state = State.PLAIN;
                    }
                }
                case HEADER -> {
                    // A message to a tool is a call: it goes on, from its recipient, as answer text for the tool
                    // call parser to read (gpt-oss's syntax there, ToolSyntax.HARMONY).
                    int recipient = pending.indexOf(CALL, at);
                    int message = pending.indexOf(MESSAGE, at);
                    int first = recipient < 0 ? message : message < 0 ? recipient : Math.min(recipient, message);
                    // Past the longest header, whether or not it ends later: how the text came in pieces cannot
                    // matter. Not ended yet, it ends no sooner than where the start of its end may be.
                    int least = first >= 0
                            ? first
                            : pending.length()
                                    - Math.max(
                                            ReasoningParser.partialSuffix(pending, at, MESSAGE),
                                            ReasoningParser.partialSuffix(pending, at, CALL));
                    if (least - at > MAX_HEADER) {
                        state = State.PLAIN;
                        continue;
                    }
                    if (first < 0) {
                        held.hold(pending, at);
                        return;
                    }
                    if (first == recipient) {
                        state = State.PLAIN;
                        at = recipient;
                        continue;
                    }
                    analysis = pending.substring(at, message).contains(CHANNEL + "analysis");
                    state = State.BODY;
                    at = message + MESSAGE.length();
                }
                case BODY -> {
                    int next = -1;
                    String boundary = null;
                    for (String b : BOUNDARIES) {
                        int i = pending.indexOf(b, at);
                        if (i >= 0 && (next < 0 || i < next)) {
                            next = i;
                            boundary = b;
                        }
                    }
                    if (next >= 0) {
                        send(sink, pending.substring(at, next));
                        state = State.HEADER;
                        at = boundary.equals(END) ? next + END.length() : next;
                        continue;
                    }
                    int partial = 0;
                    for (String b : BOUNDARIES)
                        partial = Math.max(partial, ReasoningParser.partialSuffix(pending, at, b));
                    send(sink, pending.substring(at, pending.length() - partial));
                    held.hold(pending, pending.length() - partial);
                    return;
                }
                case PLAIN -> {
                    sink.content(pending.substring(at));
                    return;
                }
            }
        }
    }

    @Override
    public void finish(Sink sink) {
        String rest = held.then("");
        switch (state) {
            case FIRST, PLAIN -> {
                if (!rest.isEmpty()) sink.content(rest);
            }
            case BODY -> send(sink, rest);
            case HEADER -> {} // cut off inside markup
        }
    }

    private void send(Sink sink, String text) {
        if (text.isEmpty()) return;
        if (analysis) sink.reasoning(text);
        else sink.content(text);
    }
}
