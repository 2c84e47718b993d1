package dev.parley.server.http;

import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.Logprobs;
import dev.parley.api.TextCompletion;
import dev.parley.api.TextCompletion.CompletionLogprobs;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.Relayed;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Answers a legacy completion request: one {@code text_completion}, or a stream of them (each holding one
 * choice's new text) ending in {@code [DONE]}. Log-probabilities come in the legacy array shape.
 */
final class CompletionReply {
    private final Clock clock;
    private final Duration keepAlive;

    /** Replies stamped with {@code clock}'s time, whose streams carry a comment after {@code keepAlive} of silence. */
    CompletionReply(Clock clock, Duration keepAlive) {
        this.clock = clock;
        this.keepAlive = keepAlive;
    }

    void json(Context ctx, CompletionRequest request, Generation generation) throws InterruptedException {
        if (generation instanceof Relayed relayed) {
            ctx.status(200).contentType("application/json").result(relayed.body());
            return;
        }
        ctx.status(200).contentType("application/json").result(Json.write(completion(request, generation)));
    }

    /** Every choice collected into one {@code text_completion}. */
    TextCompletion completion(CompletionRequest request, Generation generation) throws InterruptedException {
        Collected all = Collected.from(generation);
        var choices = new ArrayList<TextCompletion.Choice>(all.choices());
        for (int i = 0; i < all.choices(); i++) {
            var logprobs = request.logprobs() == null
                    ? null
                    : join(
                            all.echoLogprobs().get(i),
                            legacy(all.logprobs().get(i), all.echoes().get(i).length()));
            choices.add(new TextCompletion.Choice(
                    all.texts().get(i), i, logprobs, all.reasons().get(i)));
        }
        var completion = TextCompletion.of(
                Ids.completion(), clock.instant().getEpochSecond(), generation.model(), choices, generation.usage());
        return completion;
    }

    void stream(Context ctx, CompletionRequest request, Generation generation) throws InterruptedException {
        if (generation instanceof Relayed relayed) {
            EventStream.relay(ctx, keepAlive, relayed);
            return;
        }
        String id = Ids.completion();
        long created = clock.instant().getEpochSecond();
        String model = generation.model();
        int[] offsets = new int[generation.choices()];
        EventStream.relay(
                ctx,
                keepAlive,
                generation,
                List.of(),
                new EventStream.Frames() {
                    @Override
                    public Object token(int choice, String text, Logprobs.TokenLogprob logprob) {
                        var legacy = request.logprobs() == null || logprob == null
                                ? null
                                : legacy(List.of(logprob), offsets[choice]);
                        offsets[choice] += text.length();
                        return event(id, created, model, new TextCompletion.Choice(text, choice, legacy, null));
                    }

                    @Override
                    public Object reasoning(int choice, String text) {
                        throw new IllegalStateException("a legacy completion has no reasoning");
                    }

                    @Override
                    public Object echo(int choice, String text, CompletionLogprobs logprobs) {
                        offsets[choice] += text.length();
                        return event(
                                id,
                                created,
                                model,
                                new TextCompletion.Choice(
                                        text, choice, request.logprobs() == null ? null : logprobs, null));
                    }

                    @Override
                    public Object toolCall(int choice, ToolCall piece) {
                        throw new IllegalStateException("a legacy completion has no tool calls");
                    }

                    @Override
                    public Object finished(int choice, String reason) {
                        return event(id, created, model, TextCompletion.Choice.of("", choice, reason));
                    }

                    @Override
                    public Object usage(Usage usage) {
                        return TextCompletion.of(id, created, model, List.of(), usage);
                    }
                },
                ChatReply.includeUsage(request.streamOptions()));
    }

    private static TextCompletion event(String id, long created, String model, TextCompletion.Choice choice) {
        return TextCompletion.of(id, created, model, List.of(choice), null);
    }

    /** The echoed prompt's arrays (when there are any) followed by the generated tokens'. */
    private static CompletionLogprobs join(CompletionLogprobs echo, CompletionLogprobs generated) {
        if (echo == null) return generated;
        return new CompletionLogprobs(
                concat(echo.tokens(), generated.tokens()),
                concat(echo.tokenLogprobs(), generated.tokenLogprobs()),
                concat(echo.topLogprobs(), generated.topLogprobs()),
                concat(echo.textOffset(), generated.textOffset()));
    }

    private static <T> List<T> concat(List<T> first, List<T> second) {
        var all = new ArrayList<T>(first.size() + second.size());
        all.addAll(first);
        all.addAll(second);
        return all;
    }

    /** The legacy arrays for a run of tokens whose text starts at {@code offset} characters into the choice. */
    static CompletionLogprobs legacy(List<Logprobs.TokenLogprob> tokens, int offset) {
        var texts = new ArrayList<String>(tokens.size());
        var values = new ArrayList<Double>(tokens.size());
        var tops = new ArrayList<Map<String, Double>>(tokens.size());
        var offsets = new ArrayList<Integer>(tokens.size());
        for (var token : tokens) {
            texts.add(token.token());
            values.add(token.logprob());
            Map<String, Double> top = new LinkedHashMap<>();
            if (token.topLogprobs() != null) token.topLogprobs().forEach(t -> top.putIfAbsent(t.token(), t.logprob()));
            tops.add(top);
            offsets.add(offset);
            offset += token.token().length();
        }
        return new CompletionLogprobs(texts, values, tops, offsets);
    }
}
