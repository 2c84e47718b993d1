package dev.parley.client;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionChunk.ChunkChoice;
import dev.parley.api.ChatCompletionChunk.Delta;
import dev.parley.api.ChatMessage;
import dev.parley.api.Content;
import dev.parley.api.FunctionCall;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Merges the chunks of a chat stream into the {@code chat.completion} a non-streaming request would
 * have answered: per choice {@code index}, the role of the first delta, the {@code content} and
 * {@code refusal} pieces concatenated, {@code tool_calls} pieces merged by their {@code index} (id and
 * type as sent, function name and arguments concatenated), the legacy {@code function_call} likewise,
 * and the last {@code finish_reason}; {@code usage} from the usage chunk. Log-probabilities are not
 * merged. The id, created time, model and fingerprint come from the first chunk that has them.
 *
 * <p>Not thread-safe: feed it from the thread that reads the stream.
 */
public final class ChatAccumulator {

    private final TreeMap<Integer, ChoiceState> choices = new TreeMap<>();
    private String id;
    private Long created;
    private String model;
    private String systemFingerprint;
    private String serviceTier;
    private Usage usage;

    public ChatAccumulator add(ChatCompletionChunk chunk) {
        if (id == null) id = chunk.id();
        if (created == null && chunk.created() != 0) created = chunk.created();
        if (model == null) model = chunk.model();
        if (systemFingerprint == null) systemFingerprint = chunk.systemFingerprint();
        if (serviceTier == null) serviceTier = chunk.serviceTier();
        if (chunk.usage() != null) usage = chunk.usage();
        if (chunk.choices() != null) {
            for (ChunkChoice choice : chunk.choices()) {
                choices.computeIfAbsent(choice.index(), index -> new ChoiceState())
                        .add(choice);
            }
        }
        return this;
    }

    /** The usage the stream reported, or null when it sent none (yet). */
    public Usage usage() {
        return usage;
    }

    /** The answer so far, with the stream's usage (null when none came). */
    public ChatCompletion completion() {
        List<ChatCompletion.Choice> merged = new ArrayList<>();
        choices.forEach((index, state) -> merged.add(state.toChoice(index)));
        return new ChatCompletion(
                id,
                ChatCompletion.OBJECT,
                created == null ? 0 : created,
                model,
                merged,
                usage,
                systemFingerprint,
                serviceTier);
    }

    private static final class ChoiceState {
        private String role;
        private StringBuilder content;
        private StringBuilder refusal;
        private StringBuilder reasoning;
        private final TreeMap<Integer, ToolCallState> toolCalls = new TreeMap<>();
        private ToolCallState functionCall;
        private String finishReason;

        void add(ChunkChoice choice) {
            if (choice.finishReason() != null) finishReason = choice.finishReason();
            Delta delta = choice.delta();
            if (delta == null) return;
            if (role == null) role = delta.role();
            if (delta.content() != null) content = append(content, delta.content());
            if (delta.refusal() != null) refusal = append(refusal, delta.refusal());
            if (delta.reasoningContent() != null) reasoning = append(reasoning, delta.reasoningContent());
            if (delta.toolCalls() != null) {
                for (ToolCall piece : delta.toolCalls()) {
                    // A server that streams one call at a time may omit the index: pieces then go to the last call.
                    int index = piece.index() != null ? piece.index() : toolCalls.isEmpty() ? 0 : toolCalls.lastKey();
                    toolCalls
                            .computeIfAbsent(index, i -> new ToolCallState())
                            .add(piece.id(), piece.type(), piece.function());
                }
            }
            if (delta.functionCall() != null) {
                if (functionCall == null) functionCall = new ToolCallState();
                functionCall.add(null, null, delta.functionCall());
            }
        }

        ChatCompletion.Choice toChoice(int index) {
            List<ToolCall> calls = toolCalls.isEmpty()
                    ? null
                    : toolCalls.values().stream().map(ToolCallState::toToolCall).toList();
            // Content is null only for an answer that is nothing but calls or a refusal, as OpenAI sends it.
            Content text = content != null || (calls == null && functionCall == null && refusal == null)
                    ? Content.of(content == null ? "" : content.toString())
                    : null;
            var message = new ChatMessage(
                    role == null ? ChatMessage.ASSISTANT : role,
                    text,
                    null,
                    calls,
                    null,
                    functionCall == null ? null : functionCall.function(),
                    refusal == null ? null : refusal.toString(),
                    reasoning == null ? null : reasoning.toString());
            return new ChatCompletion.Choice(index, message, null, finishReason);
        }

        private static StringBuilder append(StringBuilder to, String piece) {
            return (to == null ? new StringBuilder() : to).append(piece);
        }
    }

    private static final class ToolCallState {
        private String id;
        private String type;
        private StringBuilder name;
        private StringBuilder arguments;

        void add(String id, String type, FunctionCall function) {
            if (id != null && this.id == null) this.id = id;
            if (type != null && this.type == null) this.type = type;
            if (function == null) return;
            if (function.name() != null) name = (name == null ? new StringBuilder() : name).append(function.name());
            if (function.arguments() != null) {
                arguments = (arguments == null ? new StringBuilder() : arguments).append(function.arguments());
            }
        }

        FunctionCall function() {
            return new FunctionCall(
                    name == null ? null : name.toString(), arguments == null ? "" : arguments.toString());
        }

        ToolCall toToolCall() {
            return new ToolCall(null, id, type == null ? "function" : type, function());
        }
    }
}
