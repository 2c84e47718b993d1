package dev.parley.server.engine.template;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template, compiled once and rendered per request as Hugging Face's {@code apply_chat_template}
 * renders it with jinja2.
 *
 * <pre>{@code
 * ChatTemplate template = ChatTemplate.compile(gguf.chatTemplate());
 * Map<String, Object> context = new HashMap<>();
 * context.put("messages", messages);      // role, content, and name, tool_calls, tool_call_id where present
 * context.put("tools", tools);            // JSON-schema function definitions, or null: present either way
 * context.put("add_generation_prompt", true);
 * context.put("bos_token", "<s>");
 * context.put("eos_token", "</s>");
 * String prompt = template.render(context, clock);
 * }</pre>
 *
 * <p>Pass what Hugging Face passes: it always sets {@code tools}, to {@code None} when there are none, and templates
 * test {@code tools is not none} as often as {@code tools is defined}. Template options such as
 * {@code enable_thinking} are further keys. Values may be Jackson {@code JsonNode}s or plain Java maps, lists,
 * strings, numbers and booleans; a tool call's {@code arguments} should be a map, as Hugging Face passes it (many
 * templates refuse or mangle a JSON string there). The context is copied, never changed.
 *
 * <p>Thread-safe once compiled: each render has its own state. A render is bounded in loop iterations, output size and
 * call depth, so a hostile template fails with a {@link TemplateException} instead of hanging or overflowing the stack.
 */
public final class ChatTemplate {
    private final List<Node> template;
    private final long maxSteps;
    private final int maxChars;

    private ChatTemplate(List<Node> template, long maxSteps, int maxChars) {
        this.template = template;
        this.maxSteps = maxSteps;
        this.maxChars = maxChars;
    }

    /** @throws TemplateException of kind {@code SYNTAX} if jinja2 would not compile the source either */
    public static ChatTemplate compile(String source) {
        try {
            return new ChatTemplate(Parser.parse(source), Budget.DEFAULT_STEPS, Budget.DEFAULT_CHARS);
        } catch (StackOverflowError e) {
            throw new TemplateException(TemplateException.Kind.LIMIT, "template nested too deeply");
        }
    }

    /**
     * The same template with other bounds per render: loop iterations plus calls (default 50 million), and characters
     * of output or of any one string (default 16 Mi).
     */
    public ChatTemplate withBounds(long maxSteps, int maxChars) {
        return new ChatTemplate(template, maxSteps, maxChars);
    }

    /** Renders with the system clock's date for {@code strftime_now}. */
    public String render(Map<String, ?> context) {
        return render(context, Clock.systemDefaultZone());
    }

    /**
     * @param clock the date and time {@code strftime_now(format)} formats
     * @throws TemplateException if the template refuses the context ({@code raise_exception}), uses a value as jinja2
     *     would not allow, or exceeds its bounds
     */
    public String render(Map<String, ?> context, Clock clock) {
        Map<String, Object> globals = Globals.of(ZonedDateTime.now(clock));
        Scope root = new Scope(null);
        try {
            context.forEach((name, value) -> root.set(name, Values.of(value)));
            return new Interpreter(new Budget(maxSteps, maxChars), globals).render(template, new Scope(root));
        } catch (StackOverflowError e) {
            // a macro chain within the call-depth bound, or context data nested thousands deep
            throw new TemplateException(TemplateException.Kind.LIMIT, "template exceeded its bounds: nesting too deep");
        }
    }
}
