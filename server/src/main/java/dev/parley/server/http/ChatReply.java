package dev.parley.server.http;

import dev.parley.api.ApiException;
import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionChunk.ChunkChoice;
import dev.parley.api.ChatCompletionChunk.Delta;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.Json;
import dev.parley.api.Logprobs;
import dev.parley.api.Usage;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import io.javalin.http.Context;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/** Answers a chat request from a running generation: one {@code chat.completion}, or a stream of chunks. */
final class ChatReply {
    private final Clock clock;

    ChatReply(Clock clock) {
        this.clock = clock;
    }

    /** Collects every choice, then answers with one JSON object. */
    void json(Context ctx, ChatCompletionRequest request, Generation generation) throws InterruptedException {
        Collected all = Collected.from(generation);
        boolean withLogprobs = Boolean.TRUE.equals(request.logprobs());
        var choices = new ArrayList<ChatCompletion.Choice>(all.choices());
        for (int i = 0; i < all.choices(); i++) {
            choices.add(new ChatCompletion.Choice(i, ChatMessage.assistant(all.texts().get(i)),
                    withLogprobs ? Logprobs.of(all.logprobs().get(i)) : null, all.reasons().get(i)));
        }
        var completion = ChatCompletion.of(Ids.chatCompletion(), clock.instant().getEpochSecond(), generation.model(),
                choices, Usage.of(generation.promptTokens(), all.completionTokens()));
        ctx.status(200).contentType("application/json").result(Json.write(completion));
    }

    /**
     * Streams chunks as OpenAI does: a role chunk per choice, content chunks, a finish chunk per choice,
     * the usage chunk when asked for, then {@code [DONE]}. One id and {@code created} for the whole stream.
     * A client that goes away ends the loop; the caller's close of the generation then cancels it.
     */
    void stream(Context ctx, ChatCompletionRequest request, Generation generation) throws InterruptedException {
        String id = Ids.chatCompletion();
        long created = clock.instant().getEpochSecond();
        String model = generation.model();
        try {
            EventStream events = EventStream.open(ctx);
            for (int i = 0; i < generation.choices(); i++) {
                events.send(chunk(id, created, model, ChunkChoice.of(i, Delta.role(ChatMessage.ASSISTANT), null)));
            }
            int completionTokens = 0;
            try {
                for (GenerationEvent event; (event = generation.next()) != null; ) {
                    switch (event) {
                        case GenerationEvent.Token(var choice, var text, var logprob) -> {
                            if (text.isEmpty() && logprob == null) continue;
                            var logprobs = logprob == null ? null : Logprobs.of(List.of(logprob));
                            events.send(chunk(id, created, model, new ChunkChoice(choice, Delta.content(text), logprobs, null)));
                        }
                        case GenerationEvent.Finished(var choice, var reason, var tokens) -> {
                            completionTokens += tokens;
                            events.send(chunk(id, created, model, ChunkChoice.of(choice, Delta.EMPTY, reason)));
                        }
                    }
                }
            } catch (ApiException e) {
                // Headers are gone already: the error travels as an event, as OpenAI sends it.
                events.send(e.error().body());
                return;
            }
            if (request.streamOptions() != null && Boolean.TRUE.equals(request.streamOptions().includeUsage())) {
                events.send(ChatCompletionChunk.usage(id, created, model, Usage.of(generation.promptTokens(), completionTokens)));
            }
            events.done();
        } catch (IOException clientGone) {
            // Nothing to answer to; returning lets the caller close (and so cancel) the generation.
        }
    }

    private static ChatCompletionChunk chunk(String id, long created, String model, ChunkChoice choice) {
        return ChatCompletionChunk.of(id, created, model, List.of(choice));
    }
}
