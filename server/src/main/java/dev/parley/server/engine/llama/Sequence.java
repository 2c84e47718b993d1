package dev.parley.server.engine.llama;

import dev.parley.api.Logprobs;
import dev.parley.api.TextCompletion;
import dev.parley.api.ToolCall;
import dev.parley.server.engine.GenerationEvent;
import dev.parley.server.engine.reasoning.ReasoningParser;
import dev.parley.server.engine.tools.ToolCallParser;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One choice being generated: its prompt, its place in the KV cache, and what it has produced. Owned by
 * the scheduler thread from admission to release.
 */
final class Sequence {
    final LlamaGeneration generation;
    final int choice;
    final int[] prompt;
    final int maxTokens;
    final SamplingOptions sampling;
    /**
     * Whether the request gave a seed to draw with: it expects the same answer each time, which only the same
     * decodes of its prompt give (see {@link Scheduler}).
     */
    final boolean seededDraw;
    /** How many alternatives to report per token; -1 when log-probabilities were not asked for. */
    final int topLogprobs;
    /** Text sent before any generated text (the prompt, for a legacy request with {@code echo}); may be empty. */
    final String echo;
    /**
     * Whether the echoed prompt comes with log-probabilities: then every prompt token keeps its logits, and
     * the echo is sent once the prompt has been read.
     */
    final boolean promptLogprobs;
    /**
     * The first choice of the same request and prompt; null for that choice itself. Choices of one group read
     * their shared prompt once, and each gets the KV cells of a sibling that has read it.
     */
    final Sequence leader;

    /** The grammar and tool syntax of the answer. */
    final OutputRules rules;

    private final StopMatcher stops;
    /** Sets the reasoning apart from the answer; null for a model without a reasoning syntax. */
    private final ReasoningParser reasoning;
    /** Tokens whose text went through {@link #reasoning} so far. */
    private int emitted;
    /** How many of those, from the first on, were reasoning: up to the one that ended it. */
    private int reasoningTokens;
    /** Reads tool calls out of the answer's text (its reasoning left out); null without tools. */
    private final ToolCallParser toolCalls;
    /** Set when the text just started a tool call: the text from its trigger on, for the grammar to start after. */
    String triggered;
    /** The grammar this choice's tokens follow now; null while unconstrained. Owned by the scheduler. */
    Grammar grammar;

    int id = -1;
    int position;
    int generated;
    int lastToken;
    int logitsIndex = -1;
    /**
     * For a model with recurrent state: the prompt position where the scheduler stops reading to keep the state
     * ({@link ContextCheckpoint}) before reading on; 0 for none.
     */
    int checkpointAt;
    /**
     * For a model whose memory cannot be cut back, with a prompt cache: the prompt position where the scheduler stops
     * reading to save the sequence's memory there, the end of a start it shares with other prompts; 0 for none.
     */
    int branchAt;
    /** Waits for a sibling that is reading the shared prompt, to get its cells instead of reading it too. */
    boolean awaitsPrompt;
    /** With {@link #promptLogprobs}: the log-probability of each prompt token after the first, as read so far. */
    final List<Logprobs.TokenLogprob> promptScores = new ArrayList<>();
    /** The scheduler step that last decoded a token of this sequence: who waited longest goes first. */
    long lastStep;

    TokenSampler sampler;
    Detokenizer detokenizer;

    Sequence(
            LlamaGeneration generation,
            int choice,
            int[] prompt,
            int maxTokens,
            SamplingOptions sampling,
            boolean seeded,
            int topLogprobs,
            List<String> stops,
            String echo,
            Sequence leader,
            OutputRules rules) {
        this.generation = generation;
        this.choice = choice;
        this.prompt = prompt;
        this.maxTokens = maxTokens;
        this.sampling = sampling;
        this.seededDraw = seeded && !sampling.picksMostLikely();
        this.topLogprobs = topLogprobs;
        this.stops = new StopMatcher(stops);
        this.echo = echo;
        this.rules = rules;
        this.toolCalls = rules.parser();
        this.reasoning = rules.reasoningParser();
        this.promptLogprobs = !echo.isEmpty() && topLogprobs >= 0;
        // A choice that scores its prompt needs the logits of every prompt token: it reads the prompt itself.
        this.leader = promptLogprobs ? null : leader;
    }

    /** Tokens sampled so far, in order; the last one is decoded only by the step after it was sampled. */
    private int[] sampledTokens = new int[16];

    void recordSampled(int token) {
        if (generated >= sampledTokens.length)
            sampledTokens = java.util.Arrays.copyOf(sampledTokens, sampledTokens.length * 2);
        sampledTokens[generated] = token;
    }

    /** The tokens at positions {@code 0 .. position-1} of this sequence's KV cells: the prompt, then what it sampled. */
    int[] decodedTokens() {
        int[] tokens = new int[position];
        int fromPrompt = Math.min(position, prompt.length);
        System.arraycopy(prompt, 0, tokens, 0, fromPrompt);
        System.arraycopy(sampledTokens, 0, tokens, fromPrompt, position - fromPrompt);
        return tokens;
    }

    boolean prefilling() {
        return position < prompt.length;
    }

    /** The choices that share this one's prompt are those of the same group. */
    Sequence group() {
        return leader == null ? this : leader;
    }

    /** Sends the echoed prompt, with its log-probabilities when asked for (null otherwise). */
    void echo(TextCompletion.CompletionLogprobs logprobs) {
        generation.emit(new GenerationEvent.Echo(choice, echo, logprobs));
    }

    /**
     * Emits the text of one generated token for this choice, holding back what may start a stop sequence; true once a
     * stop sequence was seen.
     */
    boolean emit(String text, Logprobs.TokenLogprob logprob) {
        String released = stops.append(text);
        if (reasoning != null) {
            emitted++;
            boolean before = reasoning.inReasoning();
            released = reason(released);
            // Reasoning comes first: every token up to the one that ends it counts, its opening tag's included.
            if (before || reasoning.inReasoning()) reasoningTokens = emitted;
        }
        if (toolCalls == null) {
            if (!released.isEmpty() || logprob != null) {
                generation.emit(new GenerationEvent.Token(choice, released, logprob));
            }
        } else {
            var out = new Out();
            String trigger = toolCalls.append(released, out);
            if (trigger != null) triggered = trigger;
            out.send(logprob);
        }
        return stops.stopped();
    }

    /** Releases what is held back and ends this choice; an answer that called tools ends with {@code tool_calls}. */
    void finish(String reason) {
        String rest = stops.stopped() ? "" : stops.append(detokenizer.finish()) + stops.finish();
        if (reasoning != null) {
            rest = reason(rest) + split(reasoning::finish);
        }
        if (toolCalls == null) {
            if (!rest.isEmpty()) generation.emit(new GenerationEvent.Token(choice, rest, null));
        } else {
            var out = new Out();
            toolCalls.append(rest, out);
            toolCalls.finish(out);
            out.send(null);
            if (toolCalls.called() && reason.equals("stop")) reason = "tool_calls";
        }
        if (reasoning != null) generation.reasoned(reasoningTokens);
        generation.emit(new GenerationEvent.Finished(choice, reason, generated));
    }

    /** Sends the reasoning in the next piece of text; returns the answer's text in it. */
    private String reason(String text) {
        return split(sink -> reasoning.append(text, sink));
    }

    /** Sends the reasoning that {@code parse} hands its sink; returns the answer's text it hands. */
    private String split(Consumer<ReasoningParser.Sink> parse) {
        var answer = new StringBuilder();
        var thought = new StringBuilder();
        parse.accept(new ReasoningParser.Sink() {
            @Override
            public void reasoning(String part) {
                thought.append(part);
            }

            @Override
            public void content(String part) {
                answer.append(part);
            }
        });
        if (!thought.isEmpty()) generation.emit(new GenerationEvent.Reasoning(choice, thought.toString()));
        return answer.toString();
    }

    /** What the tool-call parser let through for one token: words first, then pieces of calls. */
    private final class Out implements ToolCallParser.Sink {
        private final StringBuilder text = new StringBuilder();
        private final List<ToolCall> calls = new ArrayList<>();

        @Override
        public void text(String words) {
            text.append(words);
        }

        @Override
        public void call(ToolCall piece) {
            calls.add(piece);
        }

        void send(Logprobs.TokenLogprob logprob) {
            if (!text.isEmpty() || logprob != null) {
                generation.emit(new GenerationEvent.Token(choice, text.toString(), logprob));
            }
            for (ToolCall piece : calls) generation.emit(new GenerationEvent.ToolCallPiece(choice, piece));
        }
    }
}
