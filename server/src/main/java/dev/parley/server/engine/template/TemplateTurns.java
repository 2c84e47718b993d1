package dev.parley.server.engine.template;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which turns a chat template shows, found by rendering small conversations once: a system message, an assistant's
 * earlier calls ({@code tool_calls}), tool results. Templates written before tools (Gemma 2, Phi-3.5) or for models
 * that keep calls in their text (LFM2) show no calls, some no results, and Gemma's no system turn; a template that
 * refuses a turn does not show it either. Calls are given to a template with their arguments as an object, as most
 * want them; some (Functionary 3.2) join them to text and take only a string.
 *
 * @param system whether a system message's content appears in the rendering
 * @param calls whether an assistant message's {@code tool_calls} do
 * @param results whether a {@code tool} message's content does
 * @param textArguments whether the calls show only with their arguments as a JSON string
 */
public record TemplateTurns(boolean system, boolean calls, boolean results, boolean textArguments) {
    /** What llama.cpp's built-in templates show: every role's turn, no calls. */
    public static final TemplateTurns BUILT_IN = new TemplateTurns(true, false, true, false);

    private static final String SYSTEM = "probe system q7";
    private static final String NAME = "probe_function_q7";
    private static final String RESULT = "probe result q7";

    /** A tool loop in brief, as a template is given it: a question, a call, its result. */
    private static final List<Map<String, Object>> CALL = loop(JsonNodeFactory.instance.objectNode());

    /** The same with the call's arguments as a string, as OpenAI gives them. */
    private static final List<Map<String, Object>> TEXT_CALL = loop("{}");

    private static List<Map<String, Object>> loop(Object arguments) {
        var call = Map.of(
                "id", "A1b2C3d4E", // nine letters and digits, as Mistral's templates require
                "type", "function",
                "function", Map.of("name", NAME, "arguments", arguments));
        return List.of(
                Map.of("role", "user", "content", "What time is it?"),
                Map.of("role", "assistant", "content", "", "tool_calls", List.of(call)),
                Map.of("role", "tool", "tool_call_id", "A1b2C3d4E", "content", RESULT));
    }

    /** The same with an answer in words before the result, for templates that refuse the call. */
    private static final List<Map<String, Object>> ANSWER =
            List.of(CALL.get(0), Map.of("role", "assistant", "content", "Let me look."), CALL.get(2));

    /** What {@code template} shows, rendered with the model's BOS and EOS texts as a chat is. */
    public static TemplateTurns of(ChatTemplate template, String bos, String eos) {
        String system = render(template, List.of(Map.of("role", "system", "content", SYSTEM), CALL.get(0)), bos, eos);
        String loop = render(template, CALL, bos, eos);
        boolean texts = !loop.contains(NAME);
        if (texts) {
            String textLoop = render(template, TEXT_CALL, bos, eos);
            texts = textLoop.contains(NAME);
            if (texts) loop = textLoop;
        }
        return new TemplateTurns(
                system.contains(SYSTEM),
                loop.contains(NAME),
                loop.contains(RESULT) || render(template, ANSWER, bos, eos).contains(RESULT),
                texts);
    }

    /** The template's rendering of {@code turns} (without tools); empty when it refuses them. */
    private static String render(ChatTemplate template, List<Map<String, Object>> turns, String bos, String eos) {
        Map<String, Object> context = new HashMap<>();
        context.put("messages", turns);
        context.put("add_generation_prompt", true);
        context.put("bos_token", bos);
        context.put("eos_token", eos);
        try {
            return template.render(context);
        } catch (TemplateException e) {
            return "";
        }
    }
}
