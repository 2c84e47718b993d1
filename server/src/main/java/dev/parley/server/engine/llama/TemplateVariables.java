package dev.parley.server.engine.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.InvalidRequestException;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Variables for a chat template besides its usual ones: the server's defaults for a model ({@code
 * --chat-template-kwargs}), then a request's {@code reasoning_effort}, then its {@code chat_template_kwargs}, each
 * later one setting a name over an earlier one. Every value is a boolean, a number, null or a short plain string, so
 * that no variable can write the template's markup (which is read as control tokens) into the prompt.
 */
final class TemplateVariables {
    private TemplateVariables() {}

    /** OpenAI's values of {@code reasoning_effort}, which a local model's template is given as they are. */
    private static final List<String> EFFORTS = List.of("none", "minimal", "low", "medium", "high", "xhigh");

    /** The variables the server gives every chat template itself: {@code chat_template_kwargs} may not set them. */
    private static final Set<String> TEMPLATE_OWN =
            Set.of("messages", "tools", "add_generation_prompt", "bos_token", "eos_token");

    /** A template variable's text: short and plain. */
    private static final Pattern PLAIN = Pattern.compile("[\\p{L}\\p{N} _.,:;/-]{0,256}");

    /**
     * The variables of {@code request}'s template, over {@code defaults} (checked already): {@code reasoning_effort}
     * as asked (templates such as gpt-oss's read it), with {@code enable_thinking} false for {@code none} and true for
     * any other effort (most templates of reasoning models turn reasoning on and off by it), then the request's
     * {@code chat_template_kwargs}.
     *
     * @throws InvalidRequestException naming the parameter that cannot be given to a template
     */
    static Map<String, Object> of(ChatCompletionRequest request, Map<String, Object> defaults) {
        Map<String, Object> variables = new HashMap<>(defaults);
        String effort = request.reasoningEffort();
        if (effort != null) {
            if (!EFFORTS.contains(effort)) {
                throw InvalidRequestException.of(
                        "reasoning_effort",
                        "invalid_value",
                        "Invalid value: '%s'. Supported values are: %s."
                                .formatted(effort, "'none', 'minimal', 'low', 'medium', 'high', and 'xhigh'"));
            }
            variables.put("reasoning_effort", effort);
            variables.put("enable_thinking", !effort.equals("none"));
        }
        variables.putAll(checked(request.chatTemplateKwargs(), "chat_template_kwargs"));
        return variables;
    }

    /**
     * The variables of a JSON object of them ({@code param} names it in errors), empty for none.
     *
     * @throws InvalidRequestException naming the parameter, or the variable, that cannot be given to a template
     */
    static Map<String, Object> checked(JsonNode kwargs, String param) {
        Map<String, Object> variables = new HashMap<>();
        if (kwargs == null || kwargs.isNull()) return variables;
        if (!kwargs.isObject()) {
            throw InvalidRequestException.of(
                    param,
                    "invalid_type",
                    "Invalid type for '%s': expected an object, but got %s instead."
                            .formatted(param, kwargs.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        for (Map.Entry<String, JsonNode> field : kwargs.properties()) {
            String name = field.getKey();
            JsonNode value = field.getValue();
            String at = param + "." + name;
            if (TEMPLATE_OWN.contains(name)) {
                throw InvalidRequestException.of(
                        at, "invalid_value", "Invalid '%s': the server sets '%s' itself.".formatted(at, name));
            }
            boolean plain = value.isBoolean()
                    || value.isNumber()
                    || value.isNull()
                    || value.isTextual() && PLAIN.matcher(value.textValue()).matches();
            if (!plain) {
                throw InvalidRequestException.of(
                        at,
                        "invalid_value",
                        ("Invalid '%s': a chat template variable is a boolean, a number, null or a plain string of at"
                                        + " most 256 letters, digits, spaces and . , : ; / - _")
                                .formatted(at));
            }
            variables.put(name, value);
        }
        return variables;
    }
}
