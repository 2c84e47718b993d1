package dev.parley.server.http;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionChunk.ChunkChoice;
import dev.parley.api.ChatCompletionChunk.Delta;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.Content;
import dev.parley.api.Json;
import dev.parley.api.Logprobs;
import dev.parley.api.StreamOptions;
import dev.parley.api.TextCompletion;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.Relayed;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/** Answers a chat request from a running generation: one {@code chat.completion}, or a stream of chunks. */
final class ChatReply {
    private final Clock clock;
    private final Duration keepAlive;

    /** Replies stamped with {@code clock}'s time, whose streams carry a comment after {@code keepAlive} of silence. */
    ChatReply(Clock clock, Duration keepAlive) {
        this.clock = clock;
        this.keepAlive = keepAlive;
    }

    /** Collects every choice, then answers with one JSON object. */
    void json(Context ctx, ChatCompletionRequest request, Generation generation) throws InterruptedException {
        if (generation instanceof Relayed relayed) {
            ctx.status(200).contentType("application/json").result(relayed.body());
            return;
        }
        ctx.status(200).contentType("application/json").result(Json.write(completion(request, generation)));
    }

    /** Every choice collected into one {@code chat.completion}. */
    ChatCompletion completion(ChatCompletionRequest request, Generation generation) throws InterruptedException {
        Collected all = Collected.from(generation);
        boolean withLogprobs = Boolean.TRUE.equals(request.logprobs());
        var choices = new ArrayList<ChatCompletion.Choice>(all.choices());
        boolean legacy = legacyFunctions(request);
        for (int i = 0; i < all.choices(); i++) {
            String text = all.texts().get(i);
            List<ToolCall> calls = all.toolCalls().get(i);
            choices.add(new ChatCompletion.Choice(
                    i,
                    (legacy ? functionMessage(text, calls) : message(text, calls))
                            .withReasoning(all.reasoning().get(i)),
                    withLogprobs ? Logprobs.of(all.logprobs().get(i)) : null,
                    legacy ? legacyReason(all.reasons().get(i)) : all.reasons().get(i)));
        }
        var completion = ChatCompletion.of(
                Ids.chatCompletion(),
                clock.instant().getEpochSecond(),
                generation.model(),
                choices,
                generation.usage());
        return completion;
    }

    /**
     * Streams chunks as OpenAI does: a role chunk per choice, content chunks, a finish chunk per choice,
     * the usage chunk when asked for, then {@code [DONE]}. One id and {@code created} for the whole stream.
     */
    void stream(Context ctx, ChatCompletionRequest request, Generation generation) throws InterruptedException {
        if (generation instanceof Relayed relayed) {
            EventStream.relay(ctx, keepAlive, relayed);
            return;
        }
        String id = Ids.chatCompletion();
        long created = clock.instant().getEpochSecond();
        String model = generation.model();
        boolean legacy = legacyFunctions(request);
        var roles = IntStream.range(0, generation.choices())
                .mapToObj(i -> chunk(id, created, model, ChunkChoice.of(i, Delta.role(ChatMessage.ASSISTANT), null)))
                .toList();
        EventStream.relay(
                ctx,
                keepAlive,
                generation,
                roles,
                new EventStream.Frames() {
                    @Override
                    public Object token(int choice, String text, Logprobs.TokenLogprob logprob) {
                        var logprobs = logprob == null ? null : Logprobs.of(List.of(logprob));
                        return chunk(id, created, model, new ChunkChoice(choice, Delta.content(text), logprobs, null));
                    }

                    @Override
                    public Object reasoning(int choice, String text) {
                        return chunk(id, created, model, ChunkChoice.of(choice, Delta.reasoning(text), null));
                    }

                    @Override
                    public Object echo(int choice, String text, TextCompletion.CompletionLogprobs logprobs) {
                        throw new IllegalStateException("a chat answer has no echo");
                    }

                    @Override
                    public Object toolCall(int choice, ToolCall piece) {
                        Delta delta = legacy
                                ? new Delta(null, null, null, piece.function(), null)
                                : new Delta(null, null, List.of(piece), null, null);
                        return chunk(id, created, model, ChunkChoice.of(choice, delta, null));
                    }

                    @Override
                    public Object finished(int choice, String reason) {
                        return chunk(
                                id,
                                created,
                                model,
                                ChunkChoice.of(choice, Delta.EMPTY, legacy ? legacyReason(reason) : reason));
                    }

                    @Override
                    public Object usage(Usage usage) {
                        return ChatCompletionChunk.usage(id, created, model, usage);
                    }
                },
                includeUsage(request.streamOptions()));
    }

    /** The assistant's message: its text, and its tool calls when it made any (then null text when it wrote none). */
    private static ChatMessage message(String text, List<ToolCall> toolCalls) {
        if (toolCalls.isEmpty()) return ChatMessage.assistant(text);
        return new ChatMessage(
                ChatMessage.ASSISTANT, text.isEmpty() ? null : Content.of(text), null, toolCalls, null, null, null);
    }

    /**
     * Whether the request named its functions the legacy way ({@code functions}, not {@code tools}): then a call is
     * answered as {@code function_call} with {@code finish_reason: "function_call"}, as OpenAI does.
     */
    private static boolean legacyFunctions(ChatCompletionRequest request) {
        return (request.tools() == null || request.tools().isEmpty())
                && request.functions() != null
                && !request.functions().isEmpty();
    }

    private static String legacyReason(String reason) {
        return "tool_calls".equals(reason) ? "function_call" : reason;
    }

    /** The assistant's message to a legacy request: its first call as {@code function_call}. */
    private static ChatMessage functionMessage(String text, List<ToolCall> toolCalls) {
        if (toolCalls.isEmpty()) return ChatMessage.assistant(text);
        return new ChatMessage(
                ChatMessage.ASSISTANT,
                text.isEmpty() ? null : Content.of(text),
                null,
                null,
                null,
                toolCalls.getFirst().function(),
                null);
    }

    static boolean includeUsage(StreamOptions options) {
        return options != null && Boolean.TRUE.equals(options.includeUsage());
    }

    private static ChatCompletionChunk chunk(String id, long created, String model, ChunkChoice choice) {
        return ChatCompletionChunk.of(id, created, model, List.of(choice));
    }
}
