package dev.parley.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.check.RequestReader;
import dev.parley.server.auth.Tenant;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.ModelCard;
import dev.parley.server.engine.Tokenized;
import io.javalin.http.Context;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * {@code POST /tokenize} and {@code POST /detokenize}, with llama-server's names and fields (and the same under
 * {@code /v1/}, where clients configured with an OpenAI base URL look): a text, or a chat request's messages, in
 * the model's tokens, and token ids back to text. A key may tokenize for the models it may use; the model may be
 * left out when there is only one. These routes run no model, so they spend none of the key's budgets; their
 * replies carry its {@code x-ratelimit-*} all the same.
 */
final class TokenizeRoutes {

    /**
     * A tokenize body: a text ({@code content}, llama-server's field) or a chat request's {@code messages} (and
     * {@code tools}, counted as that chat's {@code prompt_tokens}).
     *
     * @param model null: the only model the key may use
     * @param addSpecial the model's own prompt tokens (a BOS) too; for {@code content} only. Null: false
     * @param withPieces each token as {@code {"id","piece"}}, the piece a string, or its bytes when they are not
     *     text alone (part of a character). Null: false, bare ids
     */
    record TokenizeRequest(String model, JsonNode content, JsonNode messages, Boolean addSpecial, Boolean withPieces) {}

    /** @param tokens null when only the count is known (a chat prompt of an upstream model) */
    record TokenizeResponse(String model, int count, List<Object> tokens) {}

    /** @param piece a String, or an {@code int[]} of bytes */
    record Piece(int id, Object piece) {}

    record DetokenizeRequest(String model, List<Integer> tokens) {}

    record DetokenizeResponse(String model, String content) {}

    private final Engine engine;
    private final HttpApi api;

    TokenizeRoutes(Engine engine, HttpApi api) {
        this.engine = engine;
        this.api = api;
    }

    void tokenize(Context ctx) {
        Tenant tenant = api.authenticate(ctx); // 401
        byte[] body = HttpApi.body(ctx);
        TokenizeRequest request = RequestReader.read(body, TokenizeRequest.class); // 400
        String model = model(ctx, tenant, request.model()); // 400 none and several, 404
        String content = text(request.content());
        Tokenized tokenized;
        if (request.messages() != null) {
            if (content != null) {
                throw InvalidRequestException.of(
                        "content",
                        "invalid_value",
                        "Give either 'content' (a text) or 'messages' (a chat prompt), not both.");
            }
            tokenized = engine.tokenize(chat(body, model)); // 400 context_length_exceeded
        } else if (content != null) {
            tokenized = engine.tokenize(model, content, Boolean.TRUE.equals(request.addSpecial()));
        } else {
            throw InvalidRequestException.of(
                    "content",
                    "missing_required_parameter",
                    "Missing required parameter: 'content' (a text), or 'messages' (a chat prompt).");
        }
        boolean pieces = Boolean.TRUE.equals(request.withPieces());
        List<Object> tokens = tokenized.tokens() == null
                ? null
                : tokenized.tokens().stream()
                        .map(t -> pieces ? new Piece(t.id(), piece(t.piece())) : (Object) t.id())
                        .toList();
        api.rateLimitHeaders(ctx);
        api.reply(ctx, 200, new TokenizeResponse(model, tokenized.count(), tokens));
    }

    void detokenize(Context ctx) {
        Tenant tenant = api.authenticate(ctx);
        DetokenizeRequest request = RequestReader.read(HttpApi.body(ctx), DetokenizeRequest.class);
        String model = model(ctx, tenant, request.model());
        if (request.tokens() == null) {
            throw InvalidRequestException.of(
                    "tokens", "missing_required_parameter", "Missing required parameter: 'tokens'.");
        }
        int[] ids = new int[request.tokens().size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = request.tokens().get(i);
            if (id == null) {
                throw InvalidRequestException.of(
                        "tokens[%d]".formatted(i),
                        "invalid_type",
                        "Invalid type for 'tokens[%d]': expected an integer, but got null instead.".formatted(i));
            }
            ids[i] = id;
        }
        String content = engine.detokenize(model, ids); // 400 tokens: too many, or not in the vocabulary
        api.rateLimitHeaders(ctx);
        api.reply(ctx, 200, new DetokenizeResponse(model, content));
    }

    /** {@code content}'s text; null when absent. A string only: a number is not read as its digits. */
    private static String text(JsonNode content) {
        if (content == null || content.isNull()) return null;
        if (!content.isTextual()) {
            throw InvalidRequestException.of(
                    "content",
                    "invalid_type",
                    "Invalid type for 'content': expected a string, but got %s instead.".formatted(Json.kind(content)));
        }
        return content.asText();
    }

    /** The model asked for, which the key may use and the engine serves; or, when none is named, the only one. */
    private String model(Context ctx, Tenant tenant, String asked) {
        String model = asked;
        if (model == null) {
            List<String> usable = engine.models().stream()
                    .map(ModelCard::id)
                    .filter(id -> api.mayUse(tenant, id))
                    .toList();
            if (usable.size() != 1) {
                throw InvalidRequestException.of(
                        "model",
                        "missing_required_parameter",
                        "Missing required parameter: 'model' (this server has %d models for your key)."
                                .formatted(usable.size()));
            }
            model = usable.getFirst();
        }
        String id = model;
        if (!api.mayUse(tenant, id)
                || engine.models().stream().noneMatch(card -> card.id().equals(id))) {
            throw HttpApi.modelNotFound(id);
        }
        Exchange.of(ctx).model = engine.canonical(id);
        return id;
    }

    /**
     * The chat request a tokenize body with {@code messages} stands for, checked as {@code /v1/chat/completions}
     * would check it (the model filled in when it was left out; the fields of tokenize itself are ignored).
     */
    private static ChatCompletionRequest chat(byte[] body, String model) {
        ObjectNode tree = RequestReader.read(body, ObjectNode.class);
        tree.put("model", model);
        return RequestReader.chat(Json.bytes(tree));
    }

    /** The piece as text when its bytes are UTF-8 on their own, else the bytes (as llama-server gives them). */
    private static Object piece(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            int[] values = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) values[i] = bytes[i] & 0xff;
            return values;
        }
    }
}
