package dev.parley.api.check;

import static dev.parley.api.check.Rules.element;
import static dev.parley.api.check.Rules.invalid;
import static dev.parley.api.check.Rules.maxItems;
import static dev.parley.api.check.Rules.name;
import static dev.parley.api.check.Rules.nonBlank;
import static dev.parley.api.check.Rules.nonEmpty;
import static dev.parley.api.check.Rules.oneOf;
import static dev.parley.api.check.Rules.range;
import static dev.parley.api.check.Rules.required;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Content;
import dev.parley.api.ContentPart;
import dev.parley.api.EmbeddingRequest;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Prompt;
import dev.parley.api.ResponseFormat;
import dev.parley.api.StreamOptions;
import dev.parley.api.Tool;
import dev.parley.api.ToolCall;
import dev.parley.api.ToolChoice;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Checks a request against OpenAI's documented rules and throws the first violation as an
 * {@link InvalidRequestException} naming its {@code param}. Checks only what any server would reject;
 * limits of one model (context length, vocabulary) are the engine's to check.
 *
 * <p>Stateless and thread-safe.
 */
public final class RequestCheck {
    /** The most choices one request may ask for, as at OpenAI. */
    public static final int MAX_CHOICES = 128;

    public static final int MAX_STOP_SEQUENCES = 4;
    public static final int MAX_TOP_LOGPROBS = 20;
    public static final int MAX_LEGACY_LOGPROBS = 5;
    public static final int MAX_TOOLS = 128;
    /** The most inputs one embeddings request may hold, as at OpenAI. */
    public static final int MAX_EMBEDDING_INPUTS = 2048;

    private static final List<String> PART_TYPES = List.of("text", "image_url", "input_audio", "file", "refusal");
    private static final List<String> TOOL_CHOICE_MODES = List.of("none", "auto", "required");
    private static final List<String> RESPONSE_FORMATS = List.of("text", "json_object", "json_schema");
    private static final List<String> MODALITIES = List.of("text", "audio");

    private RequestCheck() {}

    public static void chat(ChatCompletionRequest request) {
        required("model", request.model());
        nonBlank("model", request.model());
        required("messages", request.messages());
        nonEmpty("messages", request.messages());
        for (int i = 0; i < request.messages().size(); i++) {
            message("messages[" + i + "]", request.messages().get(i));
        }
        sampling(
                request.temperature(),
                request.topP(),
                request.n(),
                request.presencePenalty(),
                request.frequencyPenalty(),
                request.logitBias(),
                request.stop());
        stream(request.stream(), request.streamOptions());
        range("max_tokens", request.maxTokens(), 1, Integer.MAX_VALUE);
        range("max_completion_tokens", request.maxCompletionTokens(), 1, Integer.MAX_VALUE);
        range("top_logprobs", request.topLogprobs(), 0, MAX_TOP_LOGPROBS);
        if (request.topLogprobs() != null && !Boolean.TRUE.equals(request.logprobs())) {
            throw invalid(
                    "top_logprobs",
                    "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is specified.");
        }
        responseFormat(request.responseFormat());
        if (request.modalities() != null) {
            for (int i = 0; i < request.modalities().size(); i++) {
                String param = "modalities[" + i + "]";
                if (request.modalities().get(i) == null) {
                    throw InvalidRequestException.of(
                            param,
                            "invalid_type",
                            "Invalid type for '%s': expected a string, but got null instead.".formatted(param));
                }
                oneOf(param, request.modalities().get(i), MODALITIES);
            }
        }
        tools(request.tools(), request.toolChoice());
        functions(request.functions());
        toolResults(request.messages());
        if (request.responseFormat() != null
                && "json_object".equals(request.responseFormat().type())
                && request.messages().stream()
                        .noneMatch(m -> m.text().toLowerCase(Locale.ROOT).contains("json"))) {
            throw invalid(
                    "messages",
                    "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.");
        }
    }

    /**
     * OpenAI's rules for {@code /v1/embeddings}: 1 to {@value #MAX_EMBEDDING_INPUTS} inputs, none of them empty
     * (OpenAI's own words for an empty one, without a param), token ids non-negative, {@code encoding_format}
     * {@code float} or {@code base64}, {@code dimensions} at least 1.
     */
    public static void embeddings(EmbeddingRequest request) {
        required("model", request.model());
        nonBlank("model", request.model());
        required("input", request.input());
        switch (request.input()) {
            case Prompt.Texts(var texts) -> {
                if (texts.isEmpty() || texts.stream().anyMatch(t -> t == null || t.isEmpty())) throw emptyInput();
                maxItems("input", texts, MAX_EMBEDDING_INPUTS);
            }
            case Prompt.Tokens(var tokens) -> {
                if (tokens.isEmpty() || tokens.stream().anyMatch(List::isEmpty)) throw emptyInput();
                maxItems("input", tokens, MAX_EMBEDDING_INPUTS);
                for (int i = 0; i < tokens.size(); i++) {
                    if (tokens.get(i).stream().anyMatch(id -> id < 0)) {
                        throw invalid(
                                "input[" + i + "]",
                                "Invalid 'input[%d]': token ids must be non-negative.".formatted(i));
                    }
                }
            }
        }
        oneOf("encoding_format", request.encodingFormat(), List.of(EmbeddingRequest.FLOAT, EmbeddingRequest.BASE64));
        range("dimensions", request.dimensions(), 1, Integer.MAX_VALUE);
    }

    private static InvalidRequestException emptyInput() {
        return InvalidRequestException.of(
                null,
                null,
                "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.");
    }

    /** Each {@code tool} message answers a call of an earlier assistant message, with only tool results between. */
    private static void toolResults(List<ChatMessage> messages) {
        boolean answering = false;
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage message = messages.get(i);
            if (message.role().equals(ChatMessage.TOOL)) {
                if (!answering) {
                    throw invalid(
                            "messages.[%d].role".formatted(i),
                            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.");
                }
            } else {
                answering = message.role().equals(ChatMessage.ASSISTANT)
                        && message.toolCalls() != null
                        && !message.toolCalls().isEmpty();
            }
        }
    }

    public static void completion(CompletionRequest request) {
        required("model", request.model());
        nonBlank("model", request.model());
        required("prompt", request.prompt());
        prompt(request.prompt());
        sampling(
                request.temperature(),
                request.topP(),
                request.n(),
                request.presencePenalty(),
                request.frequencyPenalty(),
                request.logitBias(),
                request.stop());
        stream(request.stream(), request.streamOptions());
        // The legacy endpoint allows 0: with echo it returns the prompt's log-probabilities only.
        range("max_tokens", request.maxTokens(), 0, Integer.MAX_VALUE);
        range("logprobs", request.logprobs(), 0, MAX_LEGACY_LOGPROBS);
        range("best_of", request.bestOf(), 1, 20);
        if (request.bestOf() != null && request.bestOf() < request.choices()) {
            throw invalid("best_of", "Invalid value for 'best_of': 'best_of' must be greater than or equal to 'n'.");
        }
        if (request.bestOf() != null && request.bestOf() > 1 && request.streaming()) {
            throw invalid(
                    "best_of",
                    "Invalid value for 'best_of': 'best_of' cannot be greater than 1 when 'stream' is enabled.");
        }
    }

    private static void message(String at, ChatMessage message) {
        element(at, message);
        required(at + ".role", message.role());
        oneOf(at + ".role", message.role(), ChatMessage.ROLES);
        name(at + ".name", message.name());
        String role = message.role();
        boolean callsSomething =
                message.toolCalls() != null && !message.toolCalls().isEmpty() || message.functionCall() != null;
        if (!(role.equals(ChatMessage.ASSISTANT) && callsSomething)) {
            required(at + ".content", message.content());
        }
        if (message.content() != null) content(at + ".content", message.content());
        if (role.equals(ChatMessage.TOOL)) required(at + ".tool_call_id", message.toolCallId());
        if (role.equals(ChatMessage.FUNCTION)) required(at + ".name", message.name());
        if (message.toolCalls() != null) {
            if (!role.equals(ChatMessage.ASSISTANT)) {
                throw invalid(
                        at + ".tool_calls",
                        "Invalid parameter: only messages with role 'assistant' can have 'tool_calls'.");
            }
            for (int i = 0; i < message.toolCalls().size(); i++) {
                toolCall(at + ".tool_calls[" + i + "]", message.toolCalls().get(i));
            }
        }
    }

    private static void content(String at, Content content) {
        switch (content) {
            case Content.Text ignored -> {}
            case Content.Parts(var parts) -> {
                nonEmpty(at, parts);
                for (int i = 0; i < parts.size(); i++) part(at + "[" + i + "]", parts.get(i));
            }
        }
    }

    private static void part(String at, ContentPart part) {
        element(at, part);
        required(at + ".type", part.type());
        oneOf(at + ".type", part.type(), PART_TYPES);
        switch (part.type()) {
            case "text" -> required(at + ".text", part.text());
            case "image_url" -> {
                required(at + ".image_url", part.imageUrl());
                required(at + ".image_url.url", part.imageUrl().url());
                oneOf(at + ".image_url.detail", part.imageUrl().detail(), List.of("auto", "low", "high"));
            }
            case "input_audio" -> required(at + ".input_audio", part.inputAudio());
            case "refusal" -> required(at + ".refusal", part.refusal());
            default -> {}
        }
    }

    private static void toolCall(String at, ToolCall call) {
        element(at, call);
        required(at + ".id", call.id());
        required(at + ".type", call.type());
        oneOf(at + ".type", call.type(), List.of("function"));
        required(at + ".function", call.function());
        required(at + ".function.name", call.function().name());
        required(at + ".function.arguments", call.function().arguments());
    }

    private static void sampling(
            Double temperature,
            Double topP,
            Integer n,
            Double presencePenalty,
            Double frequencyPenalty,
            Map<String, Double> logitBias,
            List<String> stop) {
        range("temperature", temperature, 0, 2);
        range("top_p", topP, 0, 1);
        range("n", n, 1, MAX_CHOICES);
        range("presence_penalty", presencePenalty, -2, 2);
        range("frequency_penalty", frequencyPenalty, -2, 2);
        if (logitBias != null) {
            for (var entry : logitBias.entrySet()) {
                if (!entry.getKey().matches("\\d{1,9}")) {
                    throw invalid(
                            "logit_bias",
                            "Invalid key in 'logit_bias': %s. Only non-negative integer token IDs are allowed."
                                    .formatted(entry.getKey()));
                }
                required("logit_bias." + entry.getKey(), entry.getValue());
                range("logit_bias." + entry.getKey(), entry.getValue(), -100, 100);
            }
        }
        if (stop != null) {
            maxItems("stop", stop, MAX_STOP_SEQUENCES);
            for (int i = 0; i < stop.size(); i++) {
                required("stop[" + i + "]", stop.get(i));
                if (stop.get(i).isEmpty()) {
                    throw invalid(
                            "stop[" + i + "]",
                            "Invalid 'stop[%d]': empty string. Stop sequences must not be empty.".formatted(i));
                }
            }
        }
    }

    private static void stream(Boolean stream, StreamOptions options) {
        if (options != null && !Boolean.TRUE.equals(stream)) {
            throw invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
        }
    }

    private static void prompt(Prompt prompt) {
        switch (prompt) {
            case Prompt.Texts(var texts) -> {
                nonEmpty("prompt", texts);
                for (int i = 0; i < texts.size(); i++) required("prompt[" + i + "]", texts.get(i));
            }
            case Prompt.Tokens(var tokens) -> {
                nonEmpty("prompt", tokens);
                for (int i = 0; i < tokens.size(); i++) {
                    nonEmpty("prompt[" + i + "]", tokens.get(i));
                    if (tokens.get(i).stream().anyMatch(id -> id < 0)) {
                        throw invalid(
                                "prompt[" + i + "]",
                                "Invalid 'prompt[%d]': token ids must be non-negative.".formatted(i));
                    }
                }
            }
        }
    }

    private static void responseFormat(ResponseFormat format) {
        if (format == null) return;
        required("response_format.type", format.type());
        oneOf("response_format.type", format.type(), RESPONSE_FORMATS);
        if (format.type().equals("json_schema")) {
            required("response_format.json_schema", format.jsonSchema());
            var name = format.jsonSchema().get("name");
            required("response_format.json_schema.name", name == null || name.isNull() ? null : name);
            name("response_format.json_schema.name", name.asText());
        }
    }

    private static void tools(List<Tool> tools, ToolChoice choice) {
        if (tools != null) {
            maxItems("tools", tools, MAX_TOOLS);
            for (int i = 0; i < tools.size(); i++) {
                String at = "tools[" + i + "]";
                Tool tool = tools.get(i);
                element(at, tool);
                required(at + ".type", tool.type());
                oneOf(at + ".type", tool.type(), List.of("function"));
                required(at + ".function", tool.function());
                function(at + ".function", tool.function());
            }
        }
        if (choice != null && (tools == null || tools.isEmpty())) {
            throw invalid(
                    "tool_choice",
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
        }
        switch (choice) {
            case null -> {}
            case ToolChoice.Mode(var mode) -> oneOf("tool_choice", mode, TOOL_CHOICE_MODES);
            case ToolChoice.Function(var name) -> {
                required("tool_choice.function.name", name);
                if (tools.stream()
                        .noneMatch(tool -> Objects.equals(tool.function().name(), name))) {
                    throw invalid(
                            "tool_choice",
                            "Invalid value for 'tool_choice': no function named '%s' was specified in the 'tools' parameter."
                                    .formatted(name));
                }
            }
        }
    }

    private static void functions(List<FunctionDefinition> functions) {
        if (functions == null) return;
        nonEmpty("functions", functions);
        maxItems("functions", functions, MAX_TOOLS);
        for (int i = 0; i < functions.size(); i++) function("functions[" + i + "]", functions.get(i));
    }

    private static void function(String at, FunctionDefinition function) {
        element(at, function);
        required(at + ".name", function.name());
        name(at + ".name", function.name());
        if (function.parameters() != null && !function.parameters().isObject()) {
            throw InvalidRequestException.of(
                    at + ".parameters",
                    "invalid_type",
                    "Invalid type for '%s.parameters': expected an object, but got %s instead."
                            .formatted(
                                    at,
                                    function.parameters()
                                            .getNodeType()
                                            .toString()
                                            .toLowerCase()));
        }
    }
}
