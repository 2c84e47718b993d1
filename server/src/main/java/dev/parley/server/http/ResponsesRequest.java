package dev.parley.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.check.Metadata;
import dev.parley.api.check.RequestReader;
import dev.parley.server.responses.Conversation;
import dev.parley.server.responses.KeptConversations;
import dev.parley.server.responses.KeptResponses;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A request to OpenAI's Responses API ({@code POST /v1/responses}) read as the chat request it amounts to, so that a
 * local model answers it with all a chat has: tools, structured outputs, reasoning, limits and usage. {@link
 * ResponsesReply} answers in the Responses API's shapes and echoes what was asked.
 *
 * <p>{@code instructions} become the first message, a system one; {@code input} is a text (one user message) or a
 * list of items: messages of any role with text or text parts ({@code input_text}, {@code output_text}), earlier
 * {@code function_call}s (joined into the assistant message before them) and their {@code function_call_output}s,
 * and earlier {@code reasoning} (given to the next assistant message). Function tools are read in the Responses
 * API's flat form, {@code text.format} as a chat's {@code response_format}, {@code reasoning.effort} as
 * {@code reasoning_effort}, {@code max_output_tokens} as {@code max_completion_tokens}, and {@code include}'s
 * {@code message.output_text.logprobs} with {@code top_logprobs} as a chat's {@code logprobs} and {@code
 * top_logprobs}.
 *
 * <p>With {@code previous_response_id}, the conversation so far (the input and output items of that response and
 * of those it continued, {@link KeptResponses#conversation}) comes between the instructions and the input; with
 * {@code conversation} (one or the other), the items of that conversation ({@link KeptConversations}), to which the
 * answer then adds its input and output. What needs more than this server keeps is refused with a 400 naming the
 * parameter ({@code prompt}), as are the hosted tools and inputs
 * other than text; a rule of the chat
 * request it becomes is reported under the Responses API's name for the parameter. Fields it has no use for are
 * ignored, as a chat request's are.
 *
 * @param body the request as it came
 * @param chat the chat request it amounts to, checked
 * @param origins where each of the chat's messages came from ({@code instructions}, {@code previous_response_id},
 *     {@code input}, {@code input[i]}), by which an error about a message names the input it was made of
 * @param earlier the items of the conversation it continues, oldest first; empty when it continues none
 * @param input this request's input as the items a kept response lists, each with an id; null when the answer is
 *     neither kept nor added to a conversation
 * @param store whether the answer is to be kept: the request asks (as it does unless it says {@code store: false})
 *     and the server keeps responses
 */
record ResponsesRequest(
        ObjectNode body,
        ChatCompletionRequest chat,
        List<String> origins,
        ArrayNode earlier,
        ArrayNode input,
        boolean store) {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** The chat request's names for parameters, and the Responses API's names for them, for errors. */
    private static final Map<String, String> NAMES = Map.of(
            "messages", "input",
            "max_completion_tokens", "max_output_tokens",
            "max_tokens", "max_output_tokens",
            "response_format", "text.format",
            "reasoning_effort", "reasoning.effort");

    /** What {@code include} asks for to get the log-probabilities of the answer's tokens. */
    static final String LOGPROBS = "message.output_text.logprobs";

    /**
     * {@code include} values a request may give: the text's log-probabilities; reasoning's encrypted content, of which
     * there is none (reasoning comes back as text).
     */
    private static final Set<String> INCLUDABLE = Set.of(LOGPROBS, "reasoning.encrypted_content");

    boolean streaming() {
        return body.path("stream").asBoolean(false);
    }

    /** The response this one continues; null when none. */
    String previousId() {
        JsonNode previous = body.get("previous_response_id");
        return previous == null || previous.isNull() ? null : previous.asText();
    }

    /**
     * Whether the response is made in the background: the request is answered at once, the response fetched (or
     * streamed from where it has got to) later.
     */
    boolean background() {
        return body.path("background").asBoolean(false);
    }

    /** The conversation the answer is added to; null when none. */
    String conversationId() {
        return conversationId(body);
    }

    /** The id {@code conversation} names: the text itself, or its object's {@code id}; null when it names none. */
    static String conversationId(ObjectNode body) {
        JsonNode conversation = body.get("conversation");
        if (conversation == null || conversation.isNull()) return null;
        JsonNode id = conversation.isObject() ? conversation.get("id") : conversation;
        if (id == null || !id.isTextual())
            throw invalid(
                    "conversation",
                    "invalid_type",
                    "Invalid type for 'conversation': expected a conversation id or an object with its 'id'.");
        if (body.hasNonNull("previous_response_id"))
            throw invalid(
                    "conversation",
                    "mutually_exclusive_parameters",
                    "Mutually exclusive parameters: give either 'previous_response_id' or 'conversation', not both.");
        return id.asText();
    }

    /**
     * Reads and checks {@code body}, a JSON object naming its model, sent with the key named {@code owner}: the
     * conversation it continues is that key's, from {@code kept}.
     *
     * @throws InvalidRequestException naming the parameter, under the Responses API's name for it
     */
    static ResponsesRequest read(ObjectNode body, KeptResponses kept, KeptConversations conversations, String owner) {
        refuseUnsupported(body);
        JsonNode store = body.get("store");
        if (store != null && !store.isNull() && !store.isBoolean())
            throw invalid("store", "invalid_type", "Invalid type for 'store': expected a boolean.");
        Metadata.check(body.get("metadata")); // kept and echoed with the response
        String conversation = conversationId(body);
        ArrayNode earlier = conversation == null
                ? earlier(body, kept, owner)
                : conversation(conversations, owner, conversation).itemArray();
        body = referencesResolved(body, earlier);
        List<String> origins = new ArrayList<>();
        ChatCompletionRequest chat = chat(body, earlier, origins);
        boolean keep = kept.keeps() && (store == null || store.isNull() || store.asBoolean());
        if (body.path("background").asBoolean(false) && !keep)
            throw invalid(
                    "background",
                    "invalid_value",
                    kept.keeps()
                            ? "A background response must be stored: send store: true, or leave it out."
                            : "A background response must be stored, and this server keeps no responses.");
        ArrayNode input = keep || conversation != null ? items(body.get("input")) : null;
        return new ResponsesRequest(body, chat, origins, earlier, input, keep);
    }

    /**
     * {@code body} with each {@code item_reference} of its input replaced by the item it names: one of the conversation
     * it continues ({@code earlier}) or an item of its input before it, copied without its id and status (it is
     * listed as an item of this input, with an id of its own). The same body when its input has no reference.
     *
     * @throws InvalidRequestException naming the reference when no such item is there
     */
    private static ObjectNode referencesResolved(ObjectNode body, ArrayNode earlier) {
        JsonNode input = body.get("input");
        if (input == null || !input.isArray()) return body;
        boolean any = false;
        for (JsonNode item : input)
            any |= "item_reference".equals(item.path("type").asText());
        if (!any) return body;
        ArrayNode resolved = NODES.arrayNode();
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            if (!"item_reference".equals(item.path("type").asText())) {
                resolved.add(item);
                continue;
            }
            String at = "input[" + i + "]";
            String id = text(item, "id", at);
            JsonNode found = null;
            for (JsonNode before : earlier) if (id.equals(before.path("id").asText())) found = before;
            for (JsonNode before : input) {
                if (before == item) break;
                if (id.equals(before.path("id").asText())) found = before;
            }
            if (!(found instanceof ObjectNode object)
                    || "item_reference".equals(found.path("type").asText()))
                throw invalid(
                        at + ".id",
                        "invalid_value",
                        "Item with id '%s' not found: a reference names an item of the conversation this request"
                                        .formatted(KeptResponses.shown(id))
                                + " continues (previous_response_id or conversation) or of its input before it.");
            ObjectNode copy = object.deepCopy();
            copy.remove("id");
            copy.remove("status");
            resolved.add(copy);
        }
        ObjectNode copy = body.deepCopy();
        copy.set("input", resolved);
        return copy;
    }

    /**
     * The conversation {@code id} of the key named {@code owner}.
     *
     * @throws dev.parley.api.NotFoundException naming {@code conversation} when the key has none by that id
     */
    static Conversation conversation(KeptConversations conversations, String owner, String id) {
        return conversations.find(owner, id).orElseThrow(() -> ConversationRoutes.notFound(id, "conversation"));
    }

    /**
     * {@code items} (as a conversation is given them) checked as input items are, each with an id as it is listed.
     *
     * @throws InvalidRequestException naming the item at fault under {@code name}
     */
    static ArrayNode checkedItems(ArrayNode items, String name) {
        ObjectNode asInput = NODES.objectNode();
        asInput.set("input", items);
        try {
            messages(asInput, NODES.arrayNode(), new ArrayList<>());
        } catch (InvalidRequestException e) {
            String param = e.error().param();
            if (param == null || !param.startsWith("input")) throw e;
            throw invalid(
                    name + param.substring("input".length()),
                    e.error().code(),
                    e.error().message().replace("'input", "'" + name));
        }
        return items(items);
    }

    /** The chat that {@code body} after the {@code earlier} items amounts to, checked; its messages' origins. */
    private static ChatCompletionRequest chat(ObjectNode body, ArrayNode earlier, List<String> origins) {
        ObjectNode chat = NODES.objectNode();
        chat.set("model", body.get("model"));
        chat.set("messages", messages(body, earlier, origins));
        copy(body, "temperature", chat, "temperature");
        copy(body, "top_p", chat, "top_p");
        copy(body, "max_output_tokens", chat, "max_completion_tokens");
        copy(body, "parallel_tool_calls", chat, "parallel_tool_calls");
        copy(body, "user", chat, "user");
        copy(body, "seed", chat, "seed");
        JsonNode stream = body.get("stream");
        if (stream != null && !stream.isNull() && !stream.isBoolean())
            throw invalid("stream", "invalid_type", "Invalid type for 'stream': expected a boolean.");
        if (body.hasNonNull("tools")) chat.set("tools", tools(body.get("tools")));
        if (body.hasNonNull("tool_choice")) chat.set("tool_choice", toolChoice(body.get("tool_choice")));
        JsonNode format = body.path("text").path("format");
        if (!format.isMissingNode() && !format.isNull()) {
            JsonNode responseFormat = responseFormat(format);
            if (responseFormat != null) chat.set("response_format", responseFormat);
        }
        JsonNode effort = body.path("reasoning").path("effort");
        if (!effort.isMissingNode() && !effort.isNull()) chat.set("reasoning_effort", effort);
        if (include(body.get("include"))) {
            chat.put("logprobs", true);
            copy(body, "top_logprobs", chat, "top_logprobs");
        }
        return renamed(origins, () -> RequestReader.chat(Json.bytes(chat)));
    }

    /** The items of the conversation {@code previous_response_id} continues; empty when it continues none. */
    private static ArrayNode earlier(ObjectNode body, KeptResponses kept, String owner) {
        JsonNode previous = body.get("previous_response_id");
        if (previous == null || previous.isNull()) return NODES.arrayNode();
        if (!previous.isTextual())
            throw invalid(
                    "previous_response_id",
                    "invalid_type",
                    "Invalid type for 'previous_response_id': expected a string.");
        if (!kept.keeps())
            throw invalid(
                    "previous_response_id",
                    "previous_response_not_found",
                    "Previous response with id '%s' not found: this server keeps no responses; send the whole"
                                    .formatted(KeptResponses.shown(previous.asText()))
                            + " conversation in 'input' instead.");
        return kept.conversation(owner, previous.asText());
    }

    /**
     * Runs {@code step} on the chat (the engine preparing or counting it), its errors named as this API names things.
     * With {@code truncation: auto}, a chat too long for the model's context is run again without the oldest turns
     * of the conversation it continues (each a user message and what followed it): as few as make it fit, found by
     * halving; when even none of them leaves room, the first error stands.
     */
    <T> T prepare(Function<ChatCompletionRequest, T> step) {
        try {
            return renamed(origins, () -> step.apply(chat));
        } catch (InvalidRequestException e) {
            if (!"auto".equals(body.path("truncation").asText())
                    || !CONTEXT_EXCEEDED.equals(e.error().code())
                    || earlier.isEmpty()) throw e;
            List<Integer> cuts = new ArrayList<>(); // where a turn begins: the items kept start there
            for (int i = 1; i < earlier.size(); i++)
                if ("user".equals(earlier.get(i).path("role").asText())) cuts.add(i);
            cuts.add(earlier.size());
            T fitting = null;
            for (int low = 0, high = cuts.size() - 1; low <= high; ) {
                int middle = (low + high) >>> 1;
                ArrayNode kept = NODES.arrayNode();
                for (int i = cuts.get(middle); i < earlier.size(); i++) kept.add(earlier.get(i));
                List<String> keptOrigins = new ArrayList<>();
                try {
                    ChatCompletionRequest shorter = chat(body, kept, keptOrigins);
                    fitting = renamed(keptOrigins, () -> step.apply(shorter));
                    high = middle - 1;
                } catch (InvalidRequestException again) {
                    if (!CONTEXT_EXCEEDED.equals(again.error().code())) throw again;
                    low = middle + 1;
                }
            }
            if (fitting == null) throw e;
            return fitting;
        }
    }

    private static final String CONTEXT_EXCEEDED = "context_length_exceeded";

    /**
     * Runs {@code step}, its errors named as this API names things: a chat's parameter by its name here, a message by
     * the input item it came from ({@code origins}, by message).
     */
    private static <T> T renamed(List<String> origins, Supplier<T> step) {
        try {
            return step.get();
        } catch (InvalidRequestException e) {
            ApiError error = e.error();
            String param = error.param();
            if (param == null) throw e;
            String message = error.message();
            Matcher inMessage = MESSAGE.matcher(param);
            if (inMessage.lookingAt() && Integer.parseInt(inMessage.group(1)) < origins.size()) {
                String origin = origins.get(Integer.parseInt(inMessage.group(1)));
                // Within an item, the same path; a text given whole (instructions, an input text) has no inner path.
                String renamedParam = origin.contains("[") ? origin + param.substring(inMessage.end()) : origin;
                message = message.replace(param, renamedParam);
                param = renamedParam;
            }
            for (var name : NAMES.entrySet()) {
                if (param.equals(name.getKey())
                        || param.startsWith(name.getKey() + "[")
                        || param.startsWith(name.getKey() + ".")) {
                    param = name.getValue() + param.substring(name.getKey().length());
                    // "messages" is a word of the messages' prose too: renamed only where it names the parameter.
                    message = name.getKey().equals("messages")
                            ? message.replace("'messages", "'input").replace("`messages", "`input")
                            : message.replace(name.getKey(), name.getValue());
                }
            }
            // A chat's tools nest their definition under "function"; this API's are flat.
            param = param.replaceFirst("^tools\\[(\\d+)]\\.function\\.", "tools[$1].");
            message = message.replaceAll("tools\\[(\\d+)]\\.function\\.", "tools[$1].");
            throw InvalidRequestException.of(param, error.code(), message);
        }
    }

    /** What a request can only ask of a server that keeps more than responses, refused. */
    private static void refuseUnsupported(ObjectNode body) {
        if (body.hasNonNull("prompt"))
            throw invalid(
                    "prompt",
                    "unsupported_parameter",
                    "'prompt' is not supported: this server keeps no prompts; send the prompt's text in 'instructions'"
                            + " and 'input'.");
        JsonNode background = body.get("background");
        if (background != null && !background.isNull() && !background.isBoolean())
            throw invalid("background", "invalid_type", "Invalid type for 'background': expected a boolean.");
        JsonNode truncation = body.get("truncation");
        if (truncation != null
                && !truncation.isNull()
                && !(truncation.isTextual() && Set.of("auto", "disabled").contains(truncation.asText())))
            throw invalid(
                    "truncation", "invalid_value", "Invalid value for 'truncation': expected 'auto' or 'disabled'.");
    }

    /** Checks {@code include}: whether it asks for the text's log-probabilities. */
    private static boolean include(JsonNode include) {
        if (include == null || include.isNull()) return false;
        if (!include.isArray())
            throw invalid("include", "invalid_type", "Invalid type for 'include': expected an array.");
        for (int i = 0; i < include.size(); i++) {
            String value = include.get(i).asText();
            if (!INCLUDABLE.contains(value))
                throw invalid(
                        "include[" + i + "]",
                        "unsupported_value",
                        "'%s' cannot be included by this server."
                                .formatted(include.get(i).isTextual() ? value : include.get(i)));
        }
        for (JsonNode value : include) if (value.asText().equals(LOGPROBS)) return true;
        return false;
    }

    /** Whether the answer's text comes with its tokens' log-probabilities. */
    boolean withLogprobs() {
        return Boolean.TRUE.equals(chat.logprobs());
    }

    /** A chat parameter inside one message: {@code messages[K]} (or OpenAI's {@code messages.[K]}), then a path. */
    private static final Pattern MESSAGE = Pattern.compile("messages\\.?\\[(\\d+)]");

    /**
     * {@code instructions}, the {@code earlier} items of the conversation continued and {@code input} as a chat's
     * messages; where each came from goes to {@code origins}.
     */
    private static ArrayNode messages(ObjectNode body, ArrayNode earlier, List<String> origins) {
        ArrayNode messages = NODES.arrayNode();
        JsonNode instructions = body.get("instructions");
        if (instructions != null && !instructions.isNull()) {
            if (!instructions.isTextual())
                throw invalid("instructions", "invalid_type", "Invalid type for 'instructions': expected a string.");
            messages.addObject().put("role", "system").put("content", instructions.asText());
            origins.add("instructions");
        }
        JsonNode input = body.get("input");
        if (input == null || input.isNull())
            throw invalid("input", "missing_required_parameter", "Missing required parameter: 'input'.");
        if (!input.isTextual() && !input.isArray())
            throw invalid("input", "invalid_type", "Invalid type for 'input': expected a string or an array of items.");
        // The conversation's kept items (checked when they were sent; an error in them names where they came from),
        // then the input's.
        List<JsonNode> items = new ArrayList<>();
        List<String> from = new ArrayList<>();
        String earlierFrom = body.hasNonNull("conversation") ? "conversation" : "previous_response_id";
        for (JsonNode item : earlier) {
            items.add(item);
            from.add(earlierFrom);
        }
        if (input.isTextual()) {
            items.add(NODES.objectNode().put("role", "user").put("content", input.asText()));
            from.add("input");
        } else {
            for (int i = 0; i < input.size(); i++) {
                items.add(input.get(i));
                from.add("input[" + i + "]");
            }
        }
        String reasoning = null; // earlier reasoning, for the next assistant message
        for (int i = 0; i < items.size(); i++) {
            String at = from.get(i);
            JsonNode item = items.get(i);
            if (!item.isObject())
                throw invalid(at, "invalid_type", "Invalid type for '" + at + "': expected an object.");
            String type = item.path("type").asText(item.has("role") ? "message" : "");
            switch (type) {
                case "message" -> {
                    ObjectNode message = message(item, at);
                    if (reasoning != null
                            && "assistant".equals(message.path("role").asText())) {
                        message.put("reasoning_content", reasoning);
                        reasoning = null;
                    }
                    messages.add(message);
                    origins.add(at);
                }
                case "function_call" -> {
                    ObjectNode assistant = lastAssistant(messages);
                    if (assistant == null) {
                        assistant = messages.addObject().put("role", "assistant");
                        origins.add(at);
                        assistant.putNull("content");
                    }
                    if (reasoning != null) {
                        assistant.put("reasoning_content", reasoning);
                        reasoning = null;
                    }
                    ArrayNode calls = assistant.has("tool_calls")
                            ? (ArrayNode) assistant.get("tool_calls")
                            : assistant.putArray("tool_calls");
                    ObjectNode call = calls.addObject();
                    call.put("id", text(item, "call_id", at));
                    call.put("type", "function");
                    call.putObject("function")
                            .put("name", text(item, "name", at))
                            .put("arguments", text(item, "arguments", at));
                }
                case "function_call_output" -> {
                    ObjectNode result = messages.addObject().put("role", "tool");
                    origins.add(at);
                    result.put("tool_call_id", text(item, "call_id", at));
                    JsonNode output = item.get("output");
                    result.put(
                            "content",
                            output != null && output.isArray()
                                    ? parts(output, at + ".output")
                                    : text(item, "output", at));
                }
                case "reasoning" -> reasoning = reasoningText(item);
                default ->
                    throw invalid(
                            at + ".type",
                            "unsupported_value",
                            "Input items of type '%s' are not supported; this server reads messages, function_call,"
                                            .formatted(type)
                                    + " function_call_output and reasoning items.");
            }
        }
        return messages;
    }

    /**
     * {@code input} as a kept response lists it: a text as a user message, each message's text as parts, every item
     * with its type, an id (one the caller gave is kept) and a status first. Input another server answered is kept
     * as far as it has this shape: items that are not objects are left out, types Parley does not read kept as
     * they came.
     */
    static ArrayNode items(JsonNode input) {
        ArrayNode items = NODES.arrayNode();
        if (input != null && input.isTextual()) {
            items.add(item("message", NODES.objectNode().put("role", "user").put("content", input.asText())));
            return items;
        }
        if (input == null || !input.isArray()) return items;
        for (JsonNode given : input)
            if (given instanceof ObjectNode object)
                items.add(item(given.path("type").asText("message"), object));
        return items;
    }

    /** Ids of input items given without one, by type. */
    private static final Map<String, String> ID_PREFIXES =
            Map.of("message", "msg_", "function_call", "fc_", "function_call_output", "fco_", "reasoning", "rs_");

    /** One checked input item of {@code type} as it is listed. */
    private static ObjectNode item(String type, ObjectNode given) {
        ObjectNode item = NODES.objectNode().put("type", type);
        item.set(
                "id",
                given.hasNonNull("id")
                        ? given.get("id")
                        : NODES.textNode(Ids.response(ID_PREFIXES.getOrDefault(type, "item_"))));
        item.set("status", given.hasNonNull("status") ? given.get("status") : NODES.textNode("completed"));
        given.properties().forEach(field -> {
            if (!item.has(field.getKey()))
                item.set(field.getKey(), field.getValue().deepCopy());
        });
        if (type.equals("reasoning") && !item.has("summary")) item.putArray("summary");
        JsonNode content = item.get("content");
        if (type.equals("message")
                && content != null
                && content.isTextual()) { // the text as one part, the assistant's as output text
            boolean assistant = "assistant".equals(item.path("role").asText());
            ObjectNode part = item.putArray("content")
                    .addObject()
                    .put("type", assistant ? "output_text" : "input_text")
                    .put("text", content.asText());
            if (assistant) {
                part.putArray("annotations");
                part.putArray("logprobs");
            }
        }
        return item;
    }

    /** The last message when it is the assistant's and no result followed it: calls join it. */
    private static ObjectNode lastAssistant(ArrayNode messages) {
        if (messages.isEmpty()) return null;
        JsonNode last = messages.get(messages.size() - 1);
        return "assistant".equals(last.path("role").asText()) ? (ObjectNode) last : null;
    }

    private static ObjectNode message(JsonNode item, String at) {
        String role = text(item, "role", at);
        if (!Set.of("user", "assistant", "system", "developer").contains(role))
            throw invalid(
                    at + ".role",
                    "invalid_value",
                    "Invalid value for '%s.role': '%s'; expected user, assistant, system or developer."
                            .formatted(at, role));
        ObjectNode message = NODES.objectNode().put("role", role);
        JsonNode content = item.get("content");
        if (content != null && content.isArray()) message.put("content", parts(content, at + ".content"));
        else message.put("content", text(item, "content", at));
        return message;
    }

    /** Text parts joined: the only kind of part a local model reads. */
    private static String parts(JsonNode parts, String at) {
        var text = new StringBuilder();
        for (int j = 0; j < parts.size(); j++) {
            JsonNode part = parts.get(j);
            String partAt = at + "[" + j + "]";
            String type = part.path("type").asText("");
            switch (type) {
                case "input_text", "output_text", "text" -> text.append(text(part, "text", partAt));
                case "refusal" -> text.append(text(part, "refusal", partAt));
                default ->
                    throw invalid(
                            partAt + ".type",
                            "unsupported_value",
                            "Content parts of type '%s' are not supported: this server's models read text only."
                                    .formatted(type));
            }
        }
        return text.toString();
    }

    /** An earlier reasoning item's text: its content, else its summary. */
    private static String reasoningText(JsonNode item) {
        var text = new StringBuilder();
        for (String field : List.of("content", "summary")) {
            for (JsonNode part : item.path(field)) text.append(part.path("text").asText(""));
            if (!text.isEmpty()) break;
        }
        return text.isEmpty() ? null : text.toString();
    }

    /** Function tools, in a chat's nested form; the hosted tools are refused. */
    private static ArrayNode tools(JsonNode tools) {
        if (!tools.isArray()) throw invalid("tools", "invalid_type", "Invalid type for 'tools': expected an array.");
        ArrayNode chat = NODES.arrayNode();
        for (int i = 0; i < tools.size(); i++) {
            String at = "tools[" + i + "]";
            JsonNode tool = tools.get(i);
            String type = tool.path("type").asText("");
            if (!type.equals("function"))
                throw invalid(
                        at + ".type",
                        "unsupported_value",
                        "Tools of type '%s' are not supported: this server's models call function tools only."
                                .formatted(type));
            ObjectNode function = NODES.objectNode();
            for (String field : List.of("name", "description", "parameters", "strict"))
                if (tool.has(field)) function.set(field, tool.get(field));
            chat.addObject().put("type", "function").set("function", function);
        }
        return chat;
    }

    /** {@code tool_choice}: a mode as it is, a named function in a chat's nested form. */
    private static JsonNode toolChoice(JsonNode choice) {
        if (choice.isTextual()) return choice;
        if (choice.isObject() && "function".equals(choice.path("type").asText())) {
            ObjectNode named = NODES.objectNode().put("type", "function");
            named.putObject("function").set("name", choice.get("name"));
            return named;
        }
        throw invalid(
                "tool_choice",
                "unsupported_value",
                "Only 'none', 'auto', 'required' and {\"type\": \"function\", \"name\": …} are supported for 'tool_choice'.");
    }

    /** {@code text.format} as a chat's {@code response_format}; null for plain text. */
    private static JsonNode responseFormat(JsonNode format) {
        String type = format.path("type").asText("");
        return switch (type) {
            case "text" -> null;
            case "json_object" -> NODES.objectNode().put("type", "json_object");
            case "json_schema" -> {
                ObjectNode schema = NODES.objectNode();
                for (String field : List.of("name", "description", "schema", "strict"))
                    if (format.has(field)) schema.set(field, format.get(field));
                ObjectNode chat = NODES.objectNode().put("type", "json_schema");
                chat.set("json_schema", schema);
                yield chat;
            }
            default ->
                throw invalid(
                        "text.format.type",
                        "invalid_value",
                        "Invalid value for 'text.format.type': '%s'; expected text, json_object or json_schema."
                                .formatted(type));
        };
    }

    private static void copy(ObjectNode from, String name, ObjectNode to, String as) {
        JsonNode value = from.get(name);
        if (value != null) to.set(as, value);
    }

    /** A string field of {@code item}, required. */
    private static String text(JsonNode item, String field, String at) {
        JsonNode value = item.get(field);
        if (value == null || value.isNull())
            throw invalid(
                    at + "." + field,
                    "missing_required_parameter",
                    "Missing required parameter: '%s.%s'.".formatted(at, field));
        if (!value.isTextual())
            throw invalid(
                    at + "." + field,
                    "invalid_type",
                    "Invalid type for '%s.%s': expected a string.".formatted(at, field));
        return value.asText();
    }

    private static InvalidRequestException invalid(String param, String code, String message) {
        return InvalidRequestException.of(param, code, message);
    }
}
