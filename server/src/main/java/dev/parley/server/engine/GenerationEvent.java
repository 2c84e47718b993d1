package dev.parley.server.engine;

import dev.parley.api.Logprobs;
import dev.parley.api.TextCompletion;
import dev.parley.api.ToolCall;

/** What a generation produces next, for one of its choices. */
public sealed interface GenerationEvent {

    /**
     * Text for choice {@code choice}: whole UTF-8 characters only, possibly empty when a token holds
     * part of a character. {@code logprob} is null unless log-probabilities were asked for.
     */
    record Token(int choice, String text, Logprobs.TokenLogprob logprob) implements GenerationEvent {}

    /**
     * Reasoning for choice {@code choice}: text the model wrote apart from its answer (a chat answer's {@code
     * reasoning_content}), never empty; its tokens' log-probabilities, when asked for, come with the answer's
     * {@link Token} events.
     */
    record Reasoning(int choice, String text) implements GenerationEvent {}

    /**
     * The prompt of choice {@code choice}, sent back before its answer (a legacy request with {@code echo}).
     * {@code logprobs} is null unless log-probabilities were asked for; then it has one entry per prompt
     * token, the first without a log-probability or alternatives (nothing precedes it), and its
     * {@code text_offset}s count from the start of {@code text}.
     */
    record Echo(int choice, String text, TextCompletion.CompletionLogprobs logprobs) implements GenerationEvent {}

    /**
     * Choice {@code choice} is done: {@code reason} is {@code stop} (end of text or a stop sequence),
     * {@code length} (the output cap or the context was reached) or {@code tool_calls}.
     * {@code completionTokens} counts the tokens it generated.
     */
    record Finished(int choice, String reason, int completionTokens) implements GenerationEvent {}

    /**
     * A piece of a tool call that choice {@code choice} is making, shaped as in a stream delta: its
     * {@code index} says which call it belongs to; {@code id}, {@code type} and the function's name come
     * once, the arguments in pieces to be joined.
     */
    record ToolCallPiece(int choice, ToolCall piece) implements GenerationEvent {}
}
