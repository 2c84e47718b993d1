package dev.parley.server.engine.proxy;

import dev.parley.api.ApiError;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Logprobs;
import dev.parley.api.ServerException;
import dev.parley.api.TextCompletion;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import dev.parley.client.ChatStream;
import dev.parley.client.CompletionStream;
import dev.parley.client.TransportException;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import dev.parley.tokens.TokenCounter;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * An upstream stream read as generation events, on the caller's thread: each upstream event becomes
 * zero or more events here. Reading goes on to the upstream's {@code [DONE]}, past the last finish, so
 * that its usage event is seen; until then usage is the local count (prompt as estimated, answer as its
 * text's tokens), after it the upstream's own.
 *
 * <p>Used by one thread; {@link #close} may come from another and cancels the upstream request.
 */
final class ProxyGeneration<E> implements Generation {
    private final AutoCloseable stream;
    private final Iterator<E> events;
    private final BiConsumer<E, ProxyGeneration<E>> translate;
    private final String model;
    private final int choices;
    private final TokenCounter counter;
    private final StringBuilder[] texts;
    private final ArrayDeque<GenerationEvent> pending = new ArrayDeque<>();
    private volatile int promptTokens;
    private volatile int completionTokens;
    private Usage reported;

    private ProxyGeneration(
            AutoCloseable stream,
            Iterable<E> events,
            BiConsumer<E, ProxyGeneration<E>> translate,
            String model,
            int choices,
            TokenCounter counter,
            int promptTokens) {
        this.stream = stream;
        this.events = events.iterator();
        this.translate = translate;
        this.model = model;
        this.choices = choices;
        this.counter = counter;
        this.promptTokens = promptTokens;
        this.texts = new StringBuilder[choices];
        for (int i = 0; i < choices; i++) texts[i] = new StringBuilder();
    }

    static Generation chat(ChatStream stream, ChatCompletionRequest request, TokenCounter counter, int promptTokens) {
        return new ProxyGeneration<>(
                stream, stream, ProxyGeneration::chunk, request.model(), request.choices(), counter, promptTokens);
    }

    static Generation completion(
            CompletionStream stream, CompletionRequest request, TokenCounter counter, int promptTokens, int choices) {
        return new ProxyGeneration<>(
                stream, stream, ProxyGeneration::legacy, request.model(), choices, counter, promptTokens);
    }

    private static void chunk(ChatCompletionChunk chunk, ProxyGeneration<ChatCompletionChunk> generation) {
        if (chunk.usage() != null) generation.reported(chunk.usage());
        for (var choice : chunk.choices()) {
            var delta = choice.delta();
            List<Logprobs.TokenLogprob> logprobs =
                    choice.logprobs() == null || choice.logprobs().content() == null
                            ? List.of()
                            : choice.logprobs().content();
            String text = delta == null || delta.content() == null ? "" : delta.content();
            generation.text(choice.index(), text, logprobs);
            if (delta != null && delta.toolCalls() != null) {
                for (ToolCall piece : delta.toolCalls())
                    generation.emit(new GenerationEvent.ToolCallPiece(choice.index(), piece));
            }
            if (choice.finishReason() != null) generation.finish(choice.index(), choice.finishReason());
        }
    }

    private static void legacy(TextCompletion event, ProxyGeneration<TextCompletion> generation) {
        if (event.usage() != null) generation.reported(event.usage());
        for (var choice : event.choices()) {
            generation.text(choice.index(), choice.text() == null ? "" : choice.text(), List.of());
            if (choice.finishReason() != null) generation.finish(choice.index(), choice.finishReason());
        }
    }

    /** Text of a choice; with several log-probabilities the first rides with the text, the rest follow alone. */
    private void text(int choice, String text, List<Logprobs.TokenLogprob> logprobs) {
        if (text.isEmpty() && logprobs.isEmpty()) return;
        requireChoice(choice);
        texts[choice].append(text);
        emit(new GenerationEvent.Token(choice, text, logprobs.isEmpty() ? null : logprobs.getFirst()));
        for (int i = 1; i < logprobs.size(); i++) emit(new GenerationEvent.Token(choice, "", logprobs.get(i)));
    }

    private void finish(int choice, String reason) {
        requireChoice(choice);
        int tokens = counter.count(texts[choice].toString());
        if (reported == null) completionTokens += tokens;
        emit(new GenerationEvent.Finished(choice, reason, tokens));
    }

    private void reported(Usage usage) {
        reported = usage;
        promptTokens = usage.promptTokens();
        completionTokens = usage.completionTokens();
    }

    private void requireChoice(int choice) {
        if (choice < 0 || choice >= choices) {
            throw upstreamFailed(
                    "the upstream answered choice %d of a request for %d".formatted(choice, choices), null);
        }
    }

    private void emit(GenerationEvent event) {
        pending.add(event);
    }

    @Override
    public GenerationEvent next() {
        while (pending.isEmpty()) {
            try {
                if (!events.hasNext()) return null;
                translate.accept(events.next(), this);
            } catch (TransportException e) {
                throw upstreamFailed(e.getMessage(), e);
            }
        }
        return pending.poll();
    }

    private static ServerException upstreamFailed(String message, Throwable cause) {
        var failure = new ServerException(
                502,
                new ApiError(
                        "The upstream provider failed: " + message, ApiError.SERVER_ERROR, null, "upstream_error"));
        if (cause != null) failure.initCause(cause);
        return failure;
    }

    @Override
    public String model() {
        return model;
    }

    @Override
    public int promptTokens() {
        return promptTokens;
    }

    @Override
    public int completionTokens() {
        return completionTokens;
    }

    @Override
    public int choices() {
        return choices;
    }

    @Override
    public void close() {
        try {
            stream.close();
        } catch (Exception ignored) {
            // ChatStream and CompletionStream never throw on close; nothing else can come here.
        }
    }
}
