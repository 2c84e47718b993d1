package dev.parley.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.Json;
import dev.parley.api.Logprobs;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import dev.parley.server.responses.KeptConversations;
import dev.parley.server.responses.KeptResponses;
import dev.parley.server.responses.StoredResponse;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a Responses API request ({@link ResponsesRequest}) from a running chat generation: one {@code response}
 * object, or a stream of the Responses API's events. Its output is the answer's items in the order the model wrote
 * them: its reasoning ({@code reasoning}, the text as {@code reasoning_text}), its text ({@code message} with one
 * {@code output_text}), its calls ({@code function_call}, one each). An answer cut by {@code max_output_tokens} or
 * the context is {@code incomplete}, with {@code incomplete_details.reason} {@code max_output_tokens}. A response the
 * request asked to store is kept ({@link KeptResponses}) once it is finished: completed, incomplete or failed. A
 * response to a conversation adds its input and output to it once it is completed or incomplete; a failed or
 * cancelled one adds nothing.
 */
final class ResponsesReply {
    private static final Logger log = LoggerFactory.getLogger(ResponsesReply.class);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Clock clock;
    private final Duration keepAlive;
    private final KeptResponses kept;
    private final KeptConversations conversations;

    /**
     * Replies stamped with {@code clock}'s time, whose streams carry a comment after {@code keepAlive} of silence,
     * kept in {@code kept} when asked, added to their conversation in {@code conversations}.
     */
    ResponsesReply(Clock clock, Duration keepAlive, KeptResponses kept, KeptConversations conversations) {
        this.clock = clock;
        this.keepAlive = keepAlive;
        this.kept = kept;
        this.conversations = conversations;
    }

    /** Collects the answer, then replies with one {@code response} object; {@code owner} is the key's name. */
    void json(Context ctx, ResponsesRequest request, Generation generation, String owner) throws InterruptedException {
        ctx.status(200).contentType("application/json").result(Json.write(response(request, generation, owner)));
    }

    /** The whole answer collected into one {@code response} object, kept for {@code owner} when asked. */
    ObjectNode response(ResponsesRequest request, Generation generation, String owner) throws InterruptedException {
        Collected all = Collected.from(generation);
        var output = NODES.arrayNode();
        String reason = all.reasons().getFirst();
        String status = status(reason);
        if (all.reasoning().getFirst() != null)
            output.add(reasoning(Ids.response("rs_"), all.reasoning().getFirst(), "completed"));
        String text = all.texts().getFirst();
        List<ToolCall> calls = all.toolCalls().getFirst();
        // Only the last item can have been cut short.
        if (!text.isEmpty() || calls.isEmpty())
            output.add(message(
                    Ids.response("msg_"),
                    text,
                    logprobs(request, all.logprobs().getFirst()),
                    calls.isEmpty() ? status : "completed"));
        for (int i = 0; i < calls.size(); i++) {
            ToolCall call = calls.get(i);
            output.add(call(
                    Ids.response("fc_"),
                    call.id(),
                    call.function().name(),
                    call.function().arguments(),
                    i == calls.size() - 1 ? status : "completed"));
        }
        String id = Ids.response("resp_");
        long created = clock.instant().getEpochSecond();
        ObjectNode response =
                response(request, id, created, generation.model(), status(reason), output, generation.usage());
        keep(request, owner, id, created, response);
        return response;
    }

    /**
     * Keeps a finished response when its request asked to; one that could not be kept says {@code store: false}
     * (the caller still gets it, and learns it cannot be continued or fetched). Adds its input and output to the
     * conversation it names, unless it failed or was cancelled.
     */
    private void keep(ResponsesRequest request, String owner, String id, long created, ObjectNode response) {
        String conversation = request.conversationId();
        if (conversation != null && ADDED.contains(response.path("status").asText()))
            addToConversation(conversations, owner, conversation, request.input(), response);
        if (!request.store()) return;
        var stored = new StoredResponse(id, owner, created, request.previousId(), request.input(), response);
        if (!kept.keep(stored)) response.put("store", false);
    }

    /** The statuses of a response that adds its items to its conversation: not failed, not cancelled. */
    static final Set<String> ADDED = Set.of("completed", "incomplete");

    /**
     * Adds a finished response's {@code input} items and its output to the conversation {@code id}; one deleted
     * meanwhile, or a store that cannot be reached, is logged: the answer is still the caller's.
     */
    static void addToConversation(
            KeptConversations conversations, String owner, String id, ArrayNode input, ObjectNode response) {
        ArrayNode items = input.deepCopy();
        for (JsonNode item : response.path("output")) items.add(item.deepCopy());
        try {
            if (!conversations.add(owner, id, items))
                log.warn(
                        "Response {} was answered but not added to conversation {}: it was deleted meanwhile",
                        response.path("id").asText(),
                        id);
        } catch (ApiException e) {
            log.warn(
                    "Response {} was answered but not added to conversation {}: {}",
                    response.path("id").asText(),
                    id,
                    e.getMessage());
        }
    }

    /** Streams the Responses API's events as the answer is generated; kept for {@code owner} when asked. */
    void stream(Context ctx, ResponsesRequest request, Generation generation, String owner)
            throws InterruptedException {
        EventStream.named(
                ctx,
                keepAlive,
                generation,
                new Streamed(
                        request, owner, Ids.response("resp_"), clock.instant().getEpochSecond(), generation.model()));
    }

    /**
     * The events of a response {@code id} of {@code owner}, created at {@code created}, as a generation of {@code
     * model} makes them: kept (and added to its conversation) when it ends, as a streamed response is.
     */
    Frames frames(ResponsesRequest request, String owner, String id, long created, String model) {
        return new Streamed(request, owner, id, created, model);
    }

    /** A response's events, and the end of one cancelled before it finished. */
    interface Frames extends EventStream.NamedFrames {
        /**
         * Ends a response cancelled before it finished: the item being written is cut off, and the response is kept
         * {@code cancelled} with the output so far. No event says so (OpenAI's streams have none); a stream ends.
         */
        ObjectNode cancelled(Usage usage);
    }

    /**
     * The stream's events: the response created and in progress; each output item added, its text or arguments in
     * deltas, and done when the next kind of output begins or the answer ends; then the response completed (or
     * incomplete) with every item and the usage. Each event has the stream's next {@code sequence_number}.
     */
    private final class Streamed implements Frames {
        private enum Kind {
            REASONING,
            MESSAGE,
            CALL
        }

        private final ResponsesRequest request;
        private final String owner;
        private final String id;
        private final long created;
        private final String model;
        private final ArrayNode output = NODES.arrayNode(); // the items done
        private int sequence;
        private String reason; // the finish reason, once finished

        // The item being written, if any:
        private Kind open;
        private String itemId;
        private final StringBuilder written = new StringBuilder(); // its text, reasoning or arguments so far
        private final ArrayNode textLogprobs = NODES.arrayNode(); // a message's, when asked for
        private int callIndex; // a call's index among the answer's calls
        private String callId;
        private String callName;

        Streamed(ResponsesRequest request, String owner, String id, long created, String model) {
            this.request = request;
            this.owner = owner;
            this.id = id;
            this.created = created;
            this.model = model;
        }

        @Override
        public List<ObjectNode> opening() {
            ObjectNode started = response(request, id, created, model, "in_progress", NODES.arrayNode(), null);
            return List.of(
                    event("response.created").set("response", started),
                    event("response.in_progress").set("response", started.deepCopy()));
        }

        @Override
        public List<ObjectNode> on(GenerationEvent event) {
            List<ObjectNode> events = new ArrayList<>();
            switch (event) {
                case GenerationEvent.Reasoning(var choice, var text) -> {
                    if (open != Kind.REASONING) begin(Kind.REASONING, events);
                    written.append(text);
                    events.add(delta("response.reasoning_text.delta", text).put("content_index", 0));
                }
                case GenerationEvent.Token(var choice, var text, var logprob) -> {
                    if (text.isEmpty() && logprob == null) break;
                    if (open != Kind.MESSAGE) begin(Kind.MESSAGE, events);
                    written.append(text);
                    ObjectNode delta = delta("response.output_text.delta", text).put("content_index", 0);
                    ArrayNode logprobs = delta.putArray("logprobs");
                    if (logprob != null && request.withLogprobs()) {
                        logprobs.add(Json.mapper().valueToTree(logprob));
                        textLogprobs.add(Json.mapper().valueToTree(logprob));
                    }
                    events.add(delta);
                }
                case GenerationEvent.ToolCallPiece(var choice, var piece) -> {
                    int index = piece.index() == null ? 0 : piece.index();
                    if (open != Kind.CALL || index != callIndex) {
                        finish("completed", events);
                        callIndex = index;
                        callId = piece.id();
                        callName = piece.function() == null
                                ? null
                                : piece.function().name();
                        begin(Kind.CALL, events);
                    }
                    String arguments =
                            piece.function() == null ? null : piece.function().arguments();
                    if (arguments != null && !arguments.isEmpty()) {
                        written.append(arguments);
                        events.add(delta("response.function_call_arguments.delta", arguments));
                    }
                }
                case GenerationEvent.Finished(var choice, var why, var tokens) -> {
                    reason = why;
                    // An answer with nothing in it is still one (empty) message, as the whole response shows it.
                    if (open == null && output.isEmpty()) begin(Kind.MESSAGE, events);
                    finish(status(why), events);
                }
                case GenerationEvent.Echo echo -> throw new IllegalStateException("a chat answer has no echo");
            }
            return events;
        }

        @Override
        public List<ObjectNode> closing(Usage usage) {
            String status = status(reason);
            ObjectNode done = response(request, id, created, model, status, output, usage);
            keep(request, owner, id, created, done);
            return List.of(event("incomplete".equals(status) ? "response.incomplete" : "response.completed")
                    .set("response", done));
        }

        @Override
        public List<ObjectNode> failed(ApiError error) {
            ObjectNode failure = event("error")
                    .put("code", error.code())
                    .put("message", error.message())
                    .put("param", error.param());
            ObjectNode response = response(request, id, created, model, "failed", output, null);
            response.putObject("error")
                    .put("code", error.code() == null ? "server_error" : error.code())
                    .put("message", error.message());
            keep(request, owner, id, created, response);
            return List.of(failure, event("response.failed").set("response", response));
        }

        @Override
        public ObjectNode cancelled(Usage usage) {
            finish("incomplete", new ArrayList<>());
            ObjectNode response = response(request, id, created, model, "cancelled", output, usage);
            keep(request, owner, id, created, response);
            return response;
        }

        /** Opens an item of {@code kind} after closing the one open. */
        private void begin(Kind kind, List<ObjectNode> events) {
            finish("completed", events);
            open = kind;
            written.setLength(0);
            textLogprobs.removeAll();
            ObjectNode item = switch (kind) {
                case REASONING -> {
                    itemId = Ids.response("rs_");
                    yield reasoning(itemId, null, "in_progress");
                }
                case MESSAGE -> {
                    itemId = Ids.response("msg_");
                    yield message(itemId, null, null, "in_progress");
                }
                case CALL -> {
                    itemId = Ids.response("fc_");
                    yield call(itemId, callId, callName, "", "in_progress");
                }
            };
            events.add(indexed("response.output_item.added").set("item", item));
            if (kind == Kind.MESSAGE)
                events.add(delta("response.content_part.added", null)
                        .put("content_index", 0)
                        .set("part", textPart("", NODES.arrayNode())));
        }

        /** Closes the item open, if any: its text or arguments whole, then the item done with {@code status}. */
        private void finish(String status, List<ObjectNode> events) {
            if (open == null) return;
            String text = written.toString();
            ObjectNode item;
            switch (open) {
                case REASONING -> {
                    events.add(delta("response.reasoning_text.done", null)
                            .put("content_index", 0)
                            .put("text", text));
                    item = reasoning(itemId, text, "completed");
                }
                case MESSAGE -> {
                    ObjectNode done = delta("response.output_text.done", null)
                            .put("content_index", 0)
                            .put("text", text);
                    done.set("logprobs", textLogprobs.deepCopy());
                    events.add(done);
                    events.add(delta("response.content_part.done", null)
                            .put("content_index", 0)
                            .set("part", textPart(text, textLogprobs)));
                    item = message(itemId, text, textLogprobs, status);
                }
                case CALL -> {
                    events.add(delta("response.function_call_arguments.done", null)
                            .put("name", callName)
                            .put("arguments", text));
                    item = call(itemId, callId, callName, text, status);
                }
                default -> throw new IllegalStateException();
            }
            events.add(indexed("response.output_item.done").set("item", item));
            output.add(item);
            open = null;
        }

        private ObjectNode event(String type) {
            return NODES.objectNode().put("type", type).put("sequence_number", sequence++);
        }

        /** An event about the item open: its index in the output. */
        private ObjectNode indexed(String type) {
            return event(type).put("output_index", output.size());
        }

        /** An event about the item open, by id and index, with {@code delta} unless that is null. */
        private ObjectNode delta(String type, String delta) {
            ObjectNode event = indexed(type).put("item_id", itemId);
            if (delta != null) event.put("delta", delta);
            return event;
        }
    }

    /** A {@code response} object: what was asked, echoed as OpenAI echoes it, with its output and usage. */
    static ObjectNode response(
            ResponsesRequest request,
            String id,
            long created,
            String model,
            String status,
            ArrayNode output,
            Usage usage) {
        ObjectNode body = request.body();
        ObjectNode response = NODES.objectNode()
                .put("id", id)
                .put("object", "response")
                .put("created_at", created)
                .put("status", status);
        response.putNull("error");
        if ("incomplete".equals(status))
            response.putObject("incomplete_details").put("reason", "max_output_tokens");
        else response.putNull("incomplete_details");
        response.set("instructions", orNull(body.get("instructions")));
        response.set("max_output_tokens", orNull(body.get("max_output_tokens")));
        response.put("model", model);
        response.set("output", output.deepCopy());
        response.put("parallel_tool_calls", body.path("parallel_tool_calls").asBoolean(true));
        response.set("previous_response_id", orNull(body.get("previous_response_id")));
        String conversation = request.conversationId();
        if (conversation != null) response.putObject("conversation").put("id", conversation);
        ObjectNode reasoning = response.putObject("reasoning");
        reasoning.set("effort", orNull(body.path("reasoning").get("effort")));
        reasoning.putNull("summary");
        response.put("store", request.store());
        response.put("background", request.background());
        response.set("temperature", body.hasNonNull("temperature") ? body.get("temperature") : NODES.numberNode(1.0));
        JsonNode format = body.path("text").get("format");
        response.putObject("text")
                .set(
                        "format",
                        format == null || format.isNull() ? NODES.objectNode().put("type", "text") : format);
        response.set("tool_choice", body.hasNonNull("tool_choice") ? body.get("tool_choice") : NODES.textNode("auto"));
        response.set("tools", tools(body.get("tools")));
        response.set("top_p", body.hasNonNull("top_p") ? body.get("top_p") : NODES.numberNode(1.0));
        response.put("truncation", "auto".equals(body.path("truncation").asText()) ? "auto" : "disabled");
        response.set("usage", usage == null ? NODES.nullNode() : usage(usage));
        response.set("user", orNull(body.get("user")));
        response.set("metadata", body.hasNonNull("metadata") ? body.get("metadata") : NODES.objectNode());
        return response;
    }

    /** The function tools as given, each with every field OpenAI's own echo has. */
    private static ArrayNode tools(JsonNode given) {
        ArrayNode tools = NODES.arrayNode();
        if (given == null || !given.isArray()) return tools;
        for (JsonNode tool : given) {
            ObjectNode echoed = tool.deepCopy();
            if (!echoed.has("description")) echoed.putNull("description");
            if (!echoed.has("parameters")) echoed.putNull("parameters");
            if (!echoed.has("strict")) echoed.putNull("strict");
            tools.add(echoed);
        }
        return tools;
    }

    private static ObjectNode usage(Usage usage) {
        ObjectNode node = NODES.objectNode().put("input_tokens", usage.promptTokens());
        Integer cached = usage.promptTokensDetails() == null
                ? null
                : usage.promptTokensDetails().cachedTokens();
        node.putObject("input_tokens_details")
                .put("cached_tokens", cached == null ? 0 : cached)
                .put("cache_write_tokens", 0); // a slot's cells are kept without being asked for
        node.put("output_tokens", usage.completionTokens());
        Integer reasoning = usage.completionTokensDetails() == null
                ? null
                : usage.completionTokensDetails().reasoningTokens();
        node.putObject("output_tokens_details").put("reasoning_tokens", reasoning == null ? 0 : reasoning);
        node.put("total_tokens", usage.totalTokens());
        return node;
    }

    /**
     * A {@code message} item; its text part once {@code text} is known (not null), with its tokens' {@code logprobs}
     * (empty unless asked for).
     */
    private static ObjectNode message(String id, String text, ArrayNode logprobs, String status) {
        ObjectNode item = NODES.objectNode()
                .put("type", "message")
                .put("id", id)
                .put("status", status)
                .put("role", "assistant");
        ArrayNode content = item.putArray("content");
        if (text != null) content.add(textPart(text, logprobs));
        return item;
    }

    private static ObjectNode textPart(String text, ArrayNode logprobs) {
        ObjectNode part = NODES.objectNode().put("type", "output_text").put("text", text);
        part.putArray("annotations");
        part.set("logprobs", logprobs.deepCopy());
        return part;
    }

    /** The tokens' log-probabilities as the Responses API gives them, when the request asked for them; else none. */
    private static ArrayNode logprobs(ResponsesRequest request, List<Logprobs.TokenLogprob> logprobs) {
        ArrayNode array = NODES.arrayNode();
        if (request.withLogprobs())
            for (var logprob : logprobs) array.add(Json.mapper().valueToTree(logprob));
        return array;
    }

    /** A {@code reasoning} item; its text once known (not null). */
    private static ObjectNode reasoning(String id, String text, String status) {
        ObjectNode item = NODES.objectNode().put("type", "reasoning").put("id", id);
        item.putArray("summary");
        ArrayNode content = item.putArray("content");
        if (text != null) content.addObject().put("type", "reasoning_text").put("text", text);
        item.put("status", status);
        return item;
    }

    private static ObjectNode call(String id, String callId, String name, String arguments, String status) {
        return NODES.objectNode()
                .put("type", "function_call")
                .put("id", id)
                .put("call_id", callId)
                .put("name", name)
                .put("arguments", arguments)
                .put("status", status);
    }

    /** The status of an answer, and of its last item: one cut short by the output cap or the context is incomplete. */
    private static String status(String reason) {
        return "length".equals(reason) ? "incomplete" : "completed";
    }

    private static JsonNode orNull(JsonNode value) {
        return value == null ? NODES.nullNode() : value;
    }
}
