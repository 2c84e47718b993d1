package dev.parley.server.engine.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.ChatMessage;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.ToolCall;
import dev.parley.server.engine.grammar.PythonLiteral;
import dev.parley.server.engine.reasoning.ReasoningSyntax;
import dev.parley.server.engine.template.ChatTemplate;
import dev.parley.server.engine.template.TemplateException;
import dev.parley.server.engine.template.TemplateTurns;
import dev.parley.server.engine.tools.ToolSyntax;
import dev.parley.tokens.TextMemo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns requests into prompt token ids so that what a client wrote is always read as text: only the chat
 * template's own markup may become control tokens ({@code <|im_start|>}, {@code </s>}), never message
 * content. A user who writes {@code </s>} gets the letters, not an end of sequence.
 *
 * <p>A chat is rendered with each message's content replaced by a sentinel, so the template's markup is
 * known apart from the content, and the content itself never reaches the C string boundary (it may hold
 * NUL). The prompt is then tokenized the way llama.cpp tokenizes a whole prompt with special parsing,
 * except that control tokens are looked for in markup only: plain text runs, markup text and content
 * joined, are tokenized as text, and the control tokens between them are kept as they are.
 *
 * <p>Before anything is tokenized, the prompt's length in UTF-8 bytes gives a lower bound on its tokens,
 * so that a text far too long for the context is refused without reading it all; see {@link
 * #bytesPerToken}.
 *
 * <p>Text is tokenized through a {@link TextMemo}: a chat's runs are each one message's content with the markup
 * text beside it, so a conversation's earlier messages and a repeated system prompt are tokenized once, not
 * again with every request (llama.cpp reads Qwen's BPE at about 4 MB of text a second here: a 4,000-token
 * conversation is 5 ms of tokenizing).
 *
 * <p>Thread-safe.
 */
final class PromptTokenizer {
    private static final Logger LOG = LoggerFactory.getLogger(PromptTokenizer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Markup pieces whose partition is remembered; a template yields a handful (one or two per role). */
    private static final int MARKUP_CACHE = 256;

    /**
     * The padding around each sentinel: a form feed, which no template writes and which C's
     * {@code isspace} (and so llama.cpp's {@code trim}) removes. Whether it survives tells whether the
     * template trims the content.
     */
    private static final char PAD = '\f';

    private final LlamaModel model;
    private final int[] leading;
    private final int[] trailing;
    private final int bytesPerToken;
    private final Map<String, List<Fragment>> markup = new ConcurrentHashMap<>();
    private final TextMemo<int[]> texts;
    private final ChatTemplate template;
    /** Mistral's templates refuse call ids that are not 9 letters and digits, the form its own API gives. */
    private final boolean shortCallIds;

    private final ToolSyntax toolSyntax;
    private final boolean rendersTools;
    /**
     * The turns the template shows: without a system turn, system messages join the first user message; without
     * calls, they are written into the assistant's content; without results, they are given as user messages.
     */
    private final TemplateTurns shown;

    private final ReasoningSyntax reasoningSyntax;

    private final String bosText;
    private final String eosText;

    /** With {@code cacheBytes} of memory at most for the ids of recent texts (see {@link TextMemo}). */
    PromptTokenizer(LlamaModel model, long cacheBytes) {
        this.model = model;
        this.texts =
                new TextMemo<>(cacheBytes, text -> model.tokenize(text, false, false), ids -> 16L + 4L * ids.length);
        int[] special = model.tokenize("", true, false);
        int bos = model.bosToken().orElse(-1);
        int split = special.length > 0 && special[0] == bos ? 1 : 0;
        this.leading = Arrays.copyOfRange(special, 0, split);
        this.trailing = Arrays.copyOfRange(special, split, special.length);
        this.bytesPerToken = bytesPerToken(model);
        this.template = compile(model);
        String source = template == null ? null : model.chatTemplate().orElseThrow();
        this.toolSyntax = ToolSyntax.of(source); // GENERIC without a Jinja template
        this.rendersTools = ToolSyntax.rendersTools(source);
        this.reasoningSyntax = ReasoningSyntax.of(source);
        this.shortCallIds = toolSyntax == ToolSyntax.MISTRAL_ARRAY || toolSyntax == ToolSyntax.MISTRAL_ARGS;
        this.bosText = tokenText(model, model.bosToken());
        this.eosText = tokenText(model, model.eosToken());
        this.shown = template == null ? TemplateTurns.BUILT_IN : TemplateTurns.of(template, bosText, eosText);
    }

    /** The model's own chat template, or null when it has none or it does not compile (then llama.cpp's). */
    private static ChatTemplate compile(LlamaModel model) {
        String source = model.chatTemplate().orElse(null);
        // A name such as "chatml" picks one of llama.cpp's built-in templates; Jinja has tags.
        if (source == null || !source.contains("{%") && !source.contains("{{")) return null;
        try {
            return ChatTemplate.compile(source);
        } catch (TemplateException e) {
            LOG.warn(
                    "The model's chat template does not compile ({}); using llama.cpp's built-in templates",
                    e.getMessage());
            return null;
        }
    }

    private static String tokenText(LlamaModel model, java.util.OptionalInt token) {
        return token.isPresent() ? new String(model.tokenBytes(token.getAsInt(), true), StandardCharsets.UTF_8) : "";
    }

    /** What the cache of recently tokenized texts holds and has answered. */
    TextMemo.Stats textStats() {
        return texts.stats();
    }

    /** The syntax the model's template writes tool calls in; {@link ToolSyntax#GENERIC} without a Jinja template. */
    ToolSyntax toolSyntax() {
        return toolSyntax;
    }

    /** The syntax the model's template sets reasoning apart in; null for none (or without a Jinja template). */
    ReasoningSyntax reasoningSyntax() {
        return reasoningSyntax;
    }

    /** Whether the model's Jinja template shows the model its tools itself. */
    boolean rendersTools() {
        return rendersTools;
    }

    /** A prompt's token ids, or, when it cannot fit in {@code limit} tokens, a lower bound of its length. */
    sealed interface Tokens {
        record Ids(int[] ids) implements Tokens {}

        record AtLeast(long tokens) implements Tokens {}
    }

    /**
     * The chat prompt of {@code messages} ending with the opening of the assistant's turn, with the definitions of
     * {@code tools} (OpenAI's {@code tools} array; null or empty for none) where the template puts them.
     *
     * @throws InvalidRequestException when the model's chat template refuses the conversation
     */
    Tokens chat(List<ChatMessage> messages, JsonNode tools, int limit) {
        return chat(messages, tools, Map.of(), Map.of(), limit);
    }

    /**
     * As {@link #chat(List, JsonNode, int)}, with {@code variables} for the template besides its usual ones (a
     * request's {@code chat_template_kwargs}, its {@code reasoning_effort}; a model without a Jinja template has no
     * use for them), and each function's {@code parameters} schema by name, by which earlier calls are written into
     * the text for a template that does not show them.
     */
    Tokens chat(
            List<ChatMessage> messages,
            JsonNode tools,
            Map<String, JsonNode> parameters,
            Map<String, Object> variables,
            int limit) {
        return tokenize(fragments(messages, tools, parameters, variables), limit);
    }

    /** A legacy prompt: all of it is text, with the model's BOS/EOS added as its vocabulary asks. */
    Tokens text(String text, int limit) {
        return text(text, true, limit);
    }

    /** All of {@code text} read as text; with {@code addSpecial}, the model's BOS/EOS added as its vocabulary asks. */
    Tokens text(String text, boolean addSpecial, int limit) {
        // With its specials, as llama.cpp reads it: the same tokens of the text between them, as for a chat.
        if (addSpecial) return tokenize(List.of(new Fragment.Text(text)), limit);
        long least = leastTokens(List.of(new Fragment.Text(text))) - leading.length - trailing.length;
        return least > limit
                ? new Tokens.AtLeast(least)
                : new Tokens.Ids(texts.get(text).clone());
    }

    /** Plain text, or control tokens that stand for markup. */
    private sealed interface Fragment {
        record Text(String text) implements Fragment {}

        record Control(int[] ids) implements Fragment {}
    }

    private Tokens tokenize(List<Fragment> fragments, int limit) {
        List<Fragment> joined = join(fragments);
        long least = leastTokens(joined);
        if (least > limit) return new Tokens.AtLeast(least);
        var ids = IntStream.builder();
        for (int id : leading) ids.add(id);
        for (Fragment fragment : joined) {
            int[] part = switch (fragment) {
                case Fragment.Text(var text) -> texts.get(text);
                case Fragment.Control(var control) -> control;
            };
            for (int id : part) ids.add(id);
        }
        for (int id : trailing) ids.add(id);
        return new Tokens.Ids(ids.build().toArray());
    }

    /** Adjacent text joined into one run, as llama.cpp reads it between two control tokens. */
    private static List<Fragment> join(List<Fragment> fragments) {
        List<Fragment> joined = new ArrayList<>();
        StringBuilder run = new StringBuilder();
        for (Fragment fragment : fragments) {
            switch (fragment) {
                case Fragment.Text(var text) -> run.append(text);
                case Fragment.Control control -> {
                    if (!run.isEmpty()) joined.add(new Fragment.Text(run.toString()));
                    run.setLength(0);
                    joined.add(control);
                }
            }
        }
        if (!run.isEmpty()) joined.add(new Fragment.Text(run.toString()));
        return joined;
    }

    /** Counted without tokenizing: every control token, and at least one token per {@link #bytesPerToken} bytes of text. */
    private long leastTokens(List<Fragment> fragments) {
        long tokens = leading.length + trailing.length;
        for (Fragment fragment : fragments) {
            tokens += switch (fragment) {
                case Fragment.Text(var text) ->
                    bytesPerToken == 0 ? 0 : (utf8Length(text) + bytesPerToken - 1) / bytesPerToken;
                case Fragment.Control(var ids) -> ids.length;
            };
        }
        return tokens;
    }

    /** The rendered chat as markup (partitioned) and content (text), in order. */
    private List<Fragment> fragments(
            List<ChatMessage> messages,
            JsonNode tools,
            Map<String, JsonNode> parameters,
            Map<String, Object> variables) {
        String nonce = Long.toHexString(ThreadLocalRandom.current().nextLong());
        if (!shown.results()) messages = resultsAsUserMessages(messages);
        if (!shown.system()) messages = systemInFirstUserMessage(messages);
        String rendered;
        if (template == null) {
            List<ChatTurn> turns = new ArrayList<>(messages.size());
            for (int i = 0; i < messages.size(); i++) {
                // The role is always the message's role: a name never stands for it (a user named
                // "system" must not get a system turn). The template is given no name at all.
                String content = PAD + sentinel(nonce, i) + PAD;
                turns.add(new ChatTurn(
                        messages.get(i).role(), withCalls(content, calls(messages.get(i), i), parameters)));
            }
            rendered = model.applyChatTemplate(turns, true);
        } else {
            Set<Integer> plain = new HashSet<>();
            rendered = render(messages, tools, parameters, variables, nonce, plain);
            String check = rendered;
            for (int i = 0; i < messages.size(); i++) {
                if (messages.get(i).content() != null && !check.contains(sentinel(nonce, i))) plain.add(i);
            }
            // A template that transforms content (tojson of a tool result) cannot keep the stand-in intact: those
            // messages are rendered as they are, and their text read as the template's own.
            if (!plain.isEmpty()) rendered = render(messages, tools, parameters, variables, nonce, plain);
            // The BOS comes from the vocabulary, once, whether or not the template writes it (as llama-server does).
            if (leading.length > 0 && !bosText.isEmpty() && rendered.startsWith(bosText))
                rendered = rendered.substring(bosText.length());
        }
        Matcher matcher = Pattern.compile(PAD + "?\u0001" + nonce + ":(\\d+)\u0002" + PAD + "?")
                .matcher(rendered);
        List<Fragment> fragments = new ArrayList<>();
        int at = 0;
        while (matcher.find()) {
            fragments.addAll(partition(rendered.substring(at, matcher.start())));
            String content = messages.get(Integer.parseInt(matcher.group(1))).text();
            boolean keepsStart = rendered.charAt(matcher.start()) == PAD;
            boolean keepsEnd = rendered.charAt(matcher.end() - 1) == PAD;
            fragments.add(new Fragment.Text(trim(content, !keepsStart, !keepsEnd)));
            at = matcher.end();
        }
        fragments.addAll(partition(rendered.substring(at)));
        return fragments;
    }

    /**
     * Renders with the model's Jinja template as Hugging Face's {@code apply_chat_template} would, each message's
     * content replaced by its stand-in except for the messages in {@code plain}.
     */
    private String render(
            List<ChatMessage> messages,
            JsonNode tools,
            Map<String, JsonNode> parameters,
            Map<String, Object> variables,
            String nonce,
            Set<Integer> plain) {
        List<Map<String, Object>> turns = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage message = messages.get(i);
            Map<String, Object> turn = new LinkedHashMap<>();
            // OpenAI's developer role is the system role of models trained before it had a name; a legacy
            // function result is a tool result.
            String role = switch (message.role()) {
                case ChatMessage.DEVELOPER -> ChatMessage.SYSTEM;
                case ChatMessage.FUNCTION -> ChatMessage.TOOL;
                default -> message.role();
            };
            turn.put("role", role);
            // A missing content is empty: templates test and trim it as a string.
            String content = message.content() == null
                    ? ""
                    : plain.contains(i) ? message.text() : PAD + sentinel(nonce, i) + PAD;
            turn.put("content", content);
            // A name never stands for the role: only tool and function results carry theirs.
            if (message.name() != null
                    && (message.role().equals(ChatMessage.TOOL)
                            || message.role().equals(ChatMessage.FUNCTION))) turn.put("name", message.name());
            if (message.toolCallId() != null) turn.put("tool_call_id", callId(message.toolCallId()));
            // Reasoning of earlier answers, as templates of reasoning models read it (most leave it out of history);
            // gpt-oss's reads it as "thinking".
            if (message.reasoningContent() != null) {
                turn.put("reasoning_content", message.reasoningContent());
                if (reasoningSyntax instanceof ReasoningSyntax.Channels)
                    turn.put("thinking", message.reasoningContent());
            }
            List<ToolCall> toolCalls = calls(message, i);
            if (!toolCalls.isEmpty() && !shown.calls()) {
                turn.put("content", withCalls(content, toolCalls, parameters));
            } else if (!toolCalls.isEmpty()) {
                List<Map<String, Object>> calls = new ArrayList<>();
                for (ToolCall call : toolCalls) {
                    Map<String, Object> function = new LinkedHashMap<>();
                    function.put("name", call.function().name());
                    function.put(
                            "arguments",
                            shown.textArguments()
                                    ? call.function().arguments()
                                    : arguments(call.function().arguments()));
                    Map<String, Object> entry = new LinkedHashMap<>();
                    entry.put("id", callId(call.id()));
                    entry.put("type", "function");
                    entry.put("function", function);
                    calls.add(entry);
                }
                turn.put("tool_calls", calls);
            }
            turns.add(turn);
        }
        Map<String, Object> context = new HashMap<>(variables);
        context.put("messages", turns);
        context.put("tools", tools == null || tools.isEmpty() ? null : tools);
        context.put("add_generation_prompt", true);
        context.put("bos_token", bosText);
        context.put("eos_token", eosText);
        try {
            return template.render(context);
        } catch (TemplateException e) {
            throw InvalidRequestException.of(
                    "messages",
                    "invalid_value",
                    "The model's chat template cannot render these messages: " + e.getMessage());
        }
    }

    /** Message {@code index}'s tool calls, a legacy {@code function_call} as one; empty for none. */
    private List<ToolCall> calls(ChatMessage message, int index) {
        if (message.toolCalls() != null && !message.toolCalls().isEmpty()) return message.toolCalls();
        if (message.functionCall() == null) return List.of();
        return List.of(ToolCall.function(
                callId("call_" + index),
                message.functionCall().name(),
                message.functionCall().arguments()));
    }

    /**
     * A message's content followed by its calls as the model writes them, for a template that does not show calls:
     * the calls are the model's own markup there, as they are where a template writes them.
     */
    private String withCalls(String content, List<ToolCall> calls, Map<String, JsonNode> parameters) {
        if (calls.isEmpty()) return content;
        String written =
                toolSyntax.written(calls.stream().map(ToolCall::function).toList(), parameters);
        return content.isEmpty() ? written : content + "\n" + written;
    }

    /**
     * {@code messages} with each run of tool results (and legacy function results) made one user message, for a
     * template that has no turn for them: {@code {"tool_response": {"name": …, "content": …}}} a line each, the
     * name that of the call it answers.
     */
    private static List<ChatMessage> resultsAsUserMessages(List<ChatMessage> messages) {
        Map<String, String> names = new HashMap<>();
        List<ChatMessage> out = new ArrayList<>(messages.size());
        StringBuilder results = new StringBuilder();
        for (ChatMessage message : messages) {
            boolean result =
                    message.role().equals(ChatMessage.TOOL) || message.role().equals(ChatMessage.FUNCTION);
            if (!result && !results.isEmpty()) {
                out.add(ChatMessage.user(results.toString()));
                results.setLength(0);
            }
            if (!result) {
                if (message.toolCalls() != null)
                    for (ToolCall call : message.toolCalls())
                        names.put(call.id(), call.function().name());
                out.add(message);
                continue;
            }
            String name = message.name() != null ? message.name() : names.get(message.toolCallId());
            var response = JSON.createObjectNode();
            response.putObject("tool_response").put("name", name).put("content", message.text());
            if (!results.isEmpty()) results.append('\n');
            results.append(PythonLiteral.json(response));
        }
        if (!results.isEmpty()) out.add(ChatMessage.user(results.toString()));
        return out;
    }

    /**
     * {@code messages} with the system messages' text (developer messages' too) before the first user message's,
     * for a template that has no system turn; when no user message follows them, they become one.
     */
    private static List<ChatMessage> systemInFirstUserMessage(List<ChatMessage> messages) {
        List<ChatMessage> out = new ArrayList<>(messages.size());
        StringBuilder system = new StringBuilder();
        for (ChatMessage message : messages) {
            boolean instructions =
                    message.role().equals(ChatMessage.SYSTEM) || message.role().equals(ChatMessage.DEVELOPER);
            if (instructions) {
                if (!system.isEmpty()) system.append("\n\n");
                system.append(message.text());
            } else if (!system.isEmpty() && message.role().equals(ChatMessage.USER)) {
                out.add(ChatMessage.user(system + "\n\n" + message.text()));
                system.setLength(0);
            } else {
                out.add(message);
            }
        }
        if (!system.isEmpty()) out.add(ChatMessage.user(system.toString()));
        return out;
    }

    /** A call id as the template accepts it: for Mistral's, 9 letters and digits, the same for the same id. */
    private String callId(String id) {
        if (!shortCallIds || id == null || id.matches("[A-Za-z0-9]{9}")) return id;
        long hash = UUID.nameUUIDFromBytes(id.getBytes(StandardCharsets.UTF_8)).getMostSignificantBits();
        String alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        char[] out = new char[9];
        for (int i = 0; i < out.length; i++) {
            out[i] = alphabet.charAt((int) Long.remainderUnsigned(hash, alphabet.length()));
            hash = Long.divideUnsigned(hash, alphabet.length());
        }
        return new String(out);
    }

    /** A tool call's arguments as templates expect them: the JSON object itself, or the text when it is not JSON. */
    private static Object arguments(String json) {
        if (json == null) return JSON.createObjectNode(); // a call without arguments has none
        try {
            JsonNode node = JSON.readTree(json);
            return node != null && node.isObject() ? node : json;
        } catch (IOException e) {
            return json;
        }
    }

    /** Stands for message {@code index} in a rendering; control characters no template writes. */
    private static String sentinel(String nonce, int index) {
        return "\u0001" + nonce + ":" + index + "\u0002";
    }

    /**
     * Markup split into its leading text, its control tokens (with whatever text lies between them) and
     * its trailing text, so that the text at either end joins the content beside it as it would in
     * llama.cpp. Control tokens are found by tokenizing with and without special parsing; when the split
     * does not reproduce llama.cpp's own reading of the markup, the markup stays one opaque piece.
     */
    private List<Fragment> partition(String text) {
        if (text.isEmpty()) return List.of();
        List<Fragment> known = markup.get(text);
        if (known != null) return known;
        List<Fragment> fragments = split(text);
        if (markup.size() < MARKUP_CACHE) markup.put(text, fragments);
        return fragments;
    }

    private List<Fragment> split(String text) {
        int[] special = model.tokenize(text, false, true);
        if (Arrays.equals(special, model.tokenize(text, false, false))) return List.of(new Fragment.Text(text));
        int[] points = text.codePoints().toArray();
        int firstEnd = smallest(1, points.length, b -> hasControl(points, 0, b));
        int firstStart = largest(0, firstEnd - 1, a -> hasControl(points, a, firstEnd));
        int lastStart = largest(0, points.length - 1, a -> hasControl(points, a, points.length));
        int lastEnd = smallest(lastStart + 1, points.length, b -> hasControl(points, lastStart, b));
        if (firstStart > lastStart || firstEnd > lastEnd) return List.of(new Fragment.Control(special));
        String head = new String(points, 0, firstStart);
        String middle = new String(points, firstStart, lastEnd - firstStart);
        String tail = new String(points, lastEnd, points.length - lastEnd);
        int[] control = model.tokenize(middle, false, true);
        int[] again = IntStream.concat(
                        IntStream.concat(Arrays.stream(model.tokenize(head, false, false)), Arrays.stream(control)),
                        Arrays.stream(model.tokenize(tail, false, false)))
                .toArray();
        if (!Arrays.equals(again, special)) return List.of(new Fragment.Control(special));
        return List.of(new Fragment.Text(head), new Fragment.Control(control), new Fragment.Text(tail));
    }

    /** Whether code points {@code [from, to)} hold the text of a control token. */
    private boolean hasControl(int[] points, int from, int to) {
        String text = new String(points, from, to - from);
        return !Arrays.equals(model.tokenize(text, false, true), model.tokenize(text, false, false));
    }

    /** The smallest value in [low, high] for which a monotone test holds (high when none does). */
    private static int smallest(int low, int high, IntPredicate holds) {
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (holds.test(mid)) high = mid;
            else low = mid + 1;
        }
        return low;
    }

    /** The largest value in [low, high] for which a test that holds up to a point holds (low when none does). */
    private static int largest(int low, int high, IntPredicate holds) {
        while (low < high) {
            int mid = (low + high + 1) >>> 1;
            if (holds.test(mid)) low = mid;
            else high = mid - 1;
        }
        return low;
    }

    /** {@code text} without the whitespace C's {@code isspace} sees at the ends the template trimmed. */
    private static String trim(String text, boolean start, boolean end) {
        int from = 0;
        int to = text.length();
        while (start && from < to && isSpace(text.charAt(from))) from++;
        while (end && to > from && isSpace(text.charAt(to - 1))) to--;
        return text.substring(from, to);
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\f' || c == '\r';
    }

    /**
     * The length of {@code text} as {@link LlamaModel#tokenize} encodes it, without encoding it: UTF-8, in
     * which a lone surrogate becomes the one byte of {@code ?}.
     */
    static long utf8Length(String text) {
        long bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x80) bytes += 1;
            else if (c < 0x800) bytes += 2;
            else if (Character.isHighSurrogate(c)
                    && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else if (Character.isSurrogate(c)) bytes += 1;
            else bytes += 3;
        }
        return bytes;
    }

    /**
     * The most bytes of text one token can stand for, or 0 when no such bound holds.
     *
     * <p>BPE and SentencePiece vocabularies spell out every byte of the text they read: each token is
     * one piece of the text (a SentencePiece {@code ▁} stands for one space byte, which {@link
     * LlamaModel#tokenBytes} already gives as a space), and text with no piece of its own falls back to
     * byte tokens or to one unknown token per character, at most 4 bytes of UTF-8. So a text of {@code
     * b} bytes takes at least {@code b / max(longest piece, 4)} tokens. (The space SentencePiece adds
     * before a text only adds to that.) Tokenizers that normalise text (WordPiece drops whitespace,
     * Unigram collapses it) can read many bytes as no token at all; for them no bound holds, and a
     * probe of 1000 spaces tells them apart.
     */
    private static int bytesPerToken(LlamaModel model) {
        int longest = Math.max(4, model.longestPiece());
        int[] spaces = model.tokenize(" ".repeat(1000) + "x", false, false);
        return (long) spaces.length * longest < 1001 ? 0 : longest;
    }
}
