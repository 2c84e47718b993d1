package dev.parley.server.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.InvalidRequestException;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A model runtime: local weights or an upstream provider. Requests reach it already checked against
 * OpenAI's rules; what only the engine can know (the model exists, the prompt fits its context, a slot
 * is free) it checks itself and reports as an {@link dev.parley.api.ApiException}: 404
 * {@code model_not_found}, 400 {@code context_length_exceeded}, 400 naming {@code n} for more choices
 * than it can ever run at once, 503 when busy.
 *
 * <p>Implementations are thread-safe; {@link #close} frees the model and cancels what is running.
 */
public interface Engine extends AutoCloseable {

    /** The models this engine serves. */
    List<ModelCard> models();

    /**
     * The id of the model a caller names, which may be one of its aliases; the name itself when the engine has no
     * aliases or does not serve it. Keys that may use a model may use its aliases.
     */
    default String canonical(String model) {
        return model;
    }

    /** Checks and tokenizes a chat request; nothing runs until {@link Prepared#start}. */
    Prepared chat(ChatCompletionRequest request);

    /** Checks and tokenizes a legacy completion request; nothing runs until {@link Prepared#start}. */
    Prepared complete(CompletionRequest request);

    /**
     * As {@link #chat(ChatCompletionRequest)}, given also the request's JSON as the caller sent it (read on demand:
     * only an engine that relays requests to another server needs it, to pass on every field, those Parley does
     * not model too).
     */
    default Prepared chat(ChatCompletionRequest request, Supplier<ObjectNode> body) {
        return chat(request);
    }

    /** As {@link #complete(CompletionRequest)}, given also the request's JSON as the caller sent it. */
    default Prepared complete(CompletionRequest request, Supplier<ObjectNode> body) {
        return complete(request);
    }

    /** The endpoint of OpenAI's embeddings, for {@link #relay}. */
    String EMBEDDINGS = "/embeddings";

    /** The endpoint of OpenAI's Responses API, for {@link #relay}. */
    String RESPONSES = "/responses";

    /** The Responses API's count of a request's input tokens, for {@link #relay}. */
    String RESPONSE_INPUT_TOKENS = "/responses/input_tokens";

    /**
     * Whether requests for {@code model} go to another server, which is then given them as they are ({@link #relay}):
     * its answers to the Responses API are its own. Otherwise Parley answers that API itself, from a chat.
     */
    default boolean relays(String model) {
        return false;
    }

    /**
     * A request for an endpoint Parley passes to another server as it is ({@link #EMBEDDINGS}, {@link #RESPONSES}),
     * counted so limits can apply; its generation is {@link Relayed}. An engine that runs models itself refuses it
     * with a 400 naming the model.
     */
    default Prepared relay(String endpoint, String model, ObjectNode body) {
        throw InvalidRequestException.of(
                "model",
                "invalid_value",
                "The model `%s` does not support %s on this server.".formatted(model, "/v1" + endpoint));
    }

    /**
     * As {@link #relay(String, String, ObjectNode)}, sent first to the server at {@code origin} (a base URL, as
     * {@link Relayed#origin} gave it) when that is one of this engine's: the one that keeps the response a Responses
     * API request continues. Null, or a server not its own: as the engine chooses.
     */
    default Prepared relay(String endpoint, String model, ObjectNode body, String origin) {
        return relay(endpoint, model, body);
    }

    /**
     * The answer of the server at {@code origin} (one of this engine's, as {@link Relayed#origin} named it) to a
     * request of {@code method} for {@code path} without a body: a response that server made in the background
     * ({@code GET /responses/{id}}, {@code POST /responses/{id}/cancel}), as a JSON object. Empty when {@code origin}
     * is not one of its servers.
     *
     * @throws dev.parley.api.ApiException the server's error, or 502 when it cannot be reached
     */
    default Optional<ObjectNode> askOrigin(String origin, String method, String path) {
        return Optional.empty();
    }

    /**
     * A request for {@code /v1/embeddings}, a JSON object naming {@code model}. An engine that relays passes it on
     * ({@link #relay}); one that computes embeddings itself reads and checks it, counts its tokens, and answers with
     * {@link Embeddings}; one that does neither refuses it with a 400 naming the model (the default, as {@link
     * #relay}'s).
     */
    default Prepared embed(String model, ObjectNode body) {
        return relay(EMBEDDINGS, model, body);
    }

    /**
     * The tokens of {@code text} as {@code model} (one this engine serves) reads it, special tokens spelled in it
     * read as text; with {@code addSpecial}, the tokens the model puts around a prompt of its own (a BOS) too. By
     * default the tiktoken encoding {@code dev.parley.tokens} picks for the model's name, which has none of those.
     *
     * @throws InvalidRequestException 400 {@code context_length_exceeded} when the text is longer than the model's
     *     context, refused before it is tokenized where its length alone shows so
     */
    default Tokenized tokenize(String model, String text, boolean addSpecial) {
        return Tiktoken.tokenize(this, model, text);
    }

    /**
     * The prompt of a checked chat request, counted as its usage would count {@code prompt_tokens}: a local model's
     * templated prompt, tools included, token by token; by default OpenAI's message rules for the model's name,
     * whose count alone is known.
     *
     * @throws dev.parley.api.ApiException as {@link #chat(ChatCompletionRequest)} would for the same messages
     */
    default Tokenized tokenize(ChatCompletionRequest request) {
        return Tiktoken.tokenize(this, request);
    }

    /**
     * The text of token ids of {@code model}, as its tokenizer turns them back into text (a local model's leaves its
     * control tokens out; tiktoken's encodings spell theirs).
     *
     * @throws InvalidRequestException 400 naming {@code tokens} for an id the model does not have, or more ids than
     *     its context holds
     */
    default String detokenize(String model, int[] ids) {
        return Tiktoken.detokenize(this, model, ids);
    }

    /**
     * Whether the engine is serving; a local engine also reports its slots and wait queue. Never blocks.
     * An engine that does not know better is {@link Health#OK}.
     */
    default Health health() {
        return Health.OK;
    }

    /** Prompt tokens the engine's KV cells saved it from reading, and its prompt cache's size; never blocks. */
    default PromptReuse promptReuse() {
        return PromptReuse.NONE;
    }

    /**
     * The server in front of the engine listens now. An engine may put work off until then so that a starting
     * server answers sooner (a local model measures its decode costs only from here on); the others ignore it.
     */
    default void serving() {}

    /** Tells {@code listener} of every decode from now on (replacing any earlier one); engines without decodes of their own ignore it. */
    default void onDecode(DecodeListener listener) {}

    @Override
    void close();
}
