package dev.parley.api;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * A {@code POST /v1/chat/completions} body. Every component but {@code model} and {@code messages} is
 * optional and null when absent; {@code stop} reads a single string as a one-element list.
 * {@code logitBias} maps token ids (as strings, as on the wire) to a bias in [-100, 100];
 * {@code functionCall} is the legacy {@code function_call} ({@code "none"}, {@code "auto"} or
 * {@code {"name":…}}), kept as JSON. {@code modalities} lists the kinds of output asked for ({@code text},
 * {@code audio}). {@code reasoningEffort} ({@code none} … {@code xhigh}) asks a reasoning model to reason less or
 * more; {@code chatTemplateKwargs} ({@code chat_template_kwargs}, as llama.cpp's and vLLM's servers take it) is a JSON
 * object of variables for a local model's chat template, such as {@code {"enable_thinking": false}}.
 */
public record ChatCompletionRequest(
        String model,
        List<ChatMessage> messages,
        Double temperature,
        Double topP,
        Integer n,
        Boolean stream,
        StreamOptions streamOptions,

        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<String> stop,

        Integer maxTokens,
        Integer maxCompletionTokens,
        Double presencePenalty,
        Double frequencyPenalty,
        Map<String, Double> logitBias,
        Boolean logprobs,
        Integer topLogprobs,
        Long seed,
        String user,
        ResponseFormat responseFormat,
        List<Tool> tools,
        ToolChoice toolChoice,
        Boolean parallelToolCalls,
        List<FunctionDefinition> functions,
        JsonNode functionCall,
        List<String> modalities,
        String reasoningEffort,
        JsonNode chatTemplateKwargs) {

    public static Builder builder(String model) {
        return new Builder().model(model);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    /** {@code n}, or its default of 1. */
    public int choices() {
        return n == null ? 1 : n;
    }

    /** The output cap asked for: {@code max_completion_tokens}, else {@code max_tokens}; null when neither. */
    public Integer outputLimit() {
        return maxCompletionTokens != null ? maxCompletionTokens : maxTokens;
    }

    /** Builds a request; only {@code model} and {@code messages} are needed. Not thread-safe. */
    public static final class Builder {
        private String model;
        private List<ChatMessage> messages;
        private Double temperature;
        private Double topP;
        private Integer n;
        private Boolean stream;
        private StreamOptions streamOptions;
        private List<String> stop;
        private Integer maxTokens;
        private Integer maxCompletionTokens;
        private Double presencePenalty;
        private Double frequencyPenalty;
        private Map<String, Double> logitBias;
        private Boolean logprobs;
        private Integer topLogprobs;
        private Long seed;
        private String user;
        private ResponseFormat responseFormat;
        private List<Tool> tools;
        private ToolChoice toolChoice;
        private Boolean parallelToolCalls;
        private List<FunctionDefinition> functions;
        private JsonNode functionCall;
        private List<String> modalities;
        private String reasoningEffort;
        private JsonNode chatTemplateKwargs;

        private Builder() {}

        private Builder(ChatCompletionRequest r) {
            model = r.model;
            messages = r.messages;
            temperature = r.temperature;
            topP = r.topP;
            n = r.n;
            stream = r.stream;
            streamOptions = r.streamOptions;
            stop = r.stop;
            maxTokens = r.maxTokens;
            maxCompletionTokens = r.maxCompletionTokens;
            presencePenalty = r.presencePenalty;
            frequencyPenalty = r.frequencyPenalty;
            logitBias = r.logitBias;
            logprobs = r.logprobs;
            topLogprobs = r.topLogprobs;
            seed = r.seed;
            user = r.user;
            responseFormat = r.responseFormat;
            tools = r.tools;
            toolChoice = r.toolChoice;
            parallelToolCalls = r.parallelToolCalls;
            functions = r.functions;
            functionCall = r.functionCall;
            modalities = r.modalities;
            reasoningEffort = r.reasoningEffort;
            chatTemplateKwargs = r.chatTemplateKwargs;
        }

        public Builder model(String model) {
            this.model = model;
            return this;
        }

        public Builder messages(List<ChatMessage> messages) {
            this.messages = messages;
            return this;
        }

        public Builder messages(ChatMessage... messages) {
            return messages(List.of(messages));
        }

        public Builder temperature(Double temperature) {
            this.temperature = temperature;
            return this;
        }

        public Builder topP(Double topP) {
            this.topP = topP;
            return this;
        }

        public Builder n(Integer n) {
            this.n = n;
            return this;
        }

        public Builder stream(Boolean stream) {
            this.stream = stream;
            return this;
        }

        public Builder streamOptions(StreamOptions streamOptions) {
            this.streamOptions = streamOptions;
            return this;
        }

        public Builder stop(List<String> stop) {
            this.stop = stop;
            return this;
        }

        public Builder stop(String... stop) {
            return stop(List.of(stop));
        }

        public Builder maxTokens(Integer maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        public Builder maxCompletionTokens(Integer max) {
            this.maxCompletionTokens = max;
            return this;
        }

        public Builder presencePenalty(Double penalty) {
            this.presencePenalty = penalty;
            return this;
        }

        public Builder frequencyPenalty(Double penalty) {
            this.frequencyPenalty = penalty;
            return this;
        }

        public Builder logitBias(Map<String, Double> logitBias) {
            this.logitBias = logitBias;
            return this;
        }

        public Builder logprobs(Boolean logprobs) {
            this.logprobs = logprobs;
            return this;
        }

        public Builder topLogprobs(Integer topLogprobs) {
            this.topLogprobs = topLogprobs;
            return this;
        }

        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        public Builder user(String user) {
            this.user = user;
            return this;
        }

        public Builder responseFormat(ResponseFormat format) {
            this.responseFormat = format;
            return this;
        }

        public Builder tools(List<Tool> tools) {
            this.tools = tools;
            return this;
        }

        public Builder toolChoice(ToolChoice toolChoice) {
            this.toolChoice = toolChoice;
            return this;
        }

        public Builder parallelToolCalls(Boolean parallel) {
            this.parallelToolCalls = parallel;
            return this;
        }

        public Builder functions(List<FunctionDefinition> functions) {
            this.functions = functions;
            return this;
        }

        public Builder functionCall(JsonNode functionCall) {
            this.functionCall = functionCall;
            return this;
        }

        public Builder modalities(List<String> modalities) {
            this.modalities = modalities;
            return this;
        }

        public Builder reasoningEffort(String effort) {
            this.reasoningEffort = effort;
            return this;
        }

        public Builder chatTemplateKwargs(JsonNode variables) {
            this.chatTemplateKwargs = variables;
            return this;
        }

        public ChatCompletionRequest build() {
            return new ChatCompletionRequest(
                    model,
                    messages,
                    temperature,
                    topP,
                    n,
                    stream,
                    streamOptions,
                    stop,
                    maxTokens,
                    maxCompletionTokens,
                    presencePenalty,
                    frequencyPenalty,
                    logitBias,
                    logprobs,
                    topLogprobs,
                    seed,
                    user,
                    responseFormat,
                    tools,
                    toolChoice,
                    parallelToolCalls,
                    functions,
                    functionCall,
                    modalities,
                    reasoningEffort,
                    chatTemplateKwargs);
        }
    }
}
