package dev.parley.server.http;

import dev.parley.api.FunctionCall;
import dev.parley.api.Logprobs;
import dev.parley.api.TextCompletion;
import dev.parley.api.ToolCall;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A whole generation read to its end: each choice's text (echoed prompt included), its echoed prompt and that
 * prompt's log-probabilities (null when none), its generated tokens' log-probabilities, tool calls and finish
 * reason, and its reasoning (null when it wrote none).
 */
record Collected(
        List<String> texts,
        List<String> echoes,
        List<TextCompletion.CompletionLogprobs> echoLogprobs,
        List<List<Logprobs.TokenLogprob>> logprobs,
        List<List<ToolCall>> toolCalls,
        List<String> reasons,
        List<String> reasoning) {

    static Collected from(Generation generation) throws InterruptedException {
        int n = generation.choices();
        var texts = new ArrayList<StringBuilder>(n);
        var logprobs = new ArrayList<List<Logprobs.TokenLogprob>>(n);
        var reasons = new ArrayList<String>(n);
        var echoes = new ArrayList<String>(n);
        var echoLogprobs = new ArrayList<TextCompletion.CompletionLogprobs>(n);
        var calls = new ArrayList<TreeMap<Integer, ToolCallBuilder>>(n);
        var thoughts = new ArrayList<StringBuilder>(n);
        for (int i = 0; i < n; i++) {
            thoughts.add(null);
            texts.add(new StringBuilder());
            logprobs.add(new ArrayList<>());
            reasons.add(null);
            echoes.add("");
            echoLogprobs.add(null);
            calls.add(new TreeMap<>());
        }
        for (GenerationEvent event; (event = generation.next()) != null; ) {
            switch (event) {
                case GenerationEvent.Token(var choice, var text, var logprob) -> {
                    texts.get(choice).append(text);
                    if (logprob != null) logprobs.get(choice).add(logprob);
                }
                case GenerationEvent.Reasoning(var choice, var text) -> {
                    if (thoughts.get(choice) == null) thoughts.set(choice, new StringBuilder());
                    thoughts.get(choice).append(text);
                }
                case GenerationEvent.Echo(var choice, var text, var scores) -> {
                    texts.get(choice).append(text);
                    echoes.set(choice, text);
                    echoLogprobs.set(choice, scores);
                }
                case GenerationEvent.ToolCallPiece(var choice, var piece) ->
                    calls.get(choice)
                            .computeIfAbsent(piece.index() == null ? 0 : piece.index(), index -> new ToolCallBuilder())
                            .add(piece);
                case GenerationEvent.Finished(var choice, var reason, var tokens) -> reasons.set(choice, reason);
            }
        }
        var toolCalls = calls.stream()
                .map(byIndex ->
                        byIndex.values().stream().map(ToolCallBuilder::build).toList())
                .toList();
        return new Collected(
                texts.stream().map(StringBuilder::toString).toList(),
                echoes,
                echoLogprobs,
                logprobs,
                toolCalls,
                reasons,
                thoughts.stream().map(t -> t == null ? null : t.toString()).toList());
    }

    /** One tool call put together from its pieces: the first id, type and name, the arguments joined. */
    private static final class ToolCallBuilder {
        private String id;
        private String type;
        private String name;
        private final StringBuilder arguments = new StringBuilder();

        void add(ToolCall piece) {
            if (id == null) id = piece.id();
            if (type == null) type = piece.type();
            if (piece.function() != null) {
                if (name == null) name = piece.function().name();
                if (piece.function().arguments() != null)
                    arguments.append(piece.function().arguments());
            }
        }

        ToolCall build() {
            return new ToolCall(
                    null, id, type == null ? "function" : type, new FunctionCall(name, arguments.toString()));
        }
    }

    int choices() {
        return texts.size();
    }
}
