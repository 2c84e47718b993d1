package dev.parley.server.http;

import dev.parley.api.ApiError;
import dev.parley.api.Json;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error replies in OpenAI's shape: what Jetty refuses before a route runs (a malformed request
 * line or header, a URI over 8 KiB: 414, headers over 8 KiB: 431, an ambiguous path) gets a JSON error body
 * instead of Jetty's HTML page, with the same status, and a request id like every other reply.
 */
final class JettyErrors extends ErrorHandler {

    /** The body of an error Jetty answers by itself, with the status it chose. */
    static byte[] body(int status, String reason) {
        String message = switch (status) {
            case 400 ->
                "We could not parse your request" + (reason == null || reason.isBlank() ? "." : ": " + reason + ".");
            case 414 -> "The request URI is too long.";
            case 431 -> "The request headers are too large.";
            case 413 -> "The request body is too large.";
            case 404 -> "Invalid URL.";
            default -> {
                String name = HttpStatus.getMessage(status);
                yield reason == null || reason.isBlank() ? name + "." : name + ": " + reason + ".";
            }
        };
        String type = status >= 500 ? ApiError.SERVER_ERROR : ApiError.INVALID_REQUEST;
        return Json.write(new ApiError(message, type, null, null).body()).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        int status = response.getStatus();
        Object code = request.getAttribute(ERROR_STATUS);
        if (code instanceof Integer given) status = given;
        if (status < 400) status = 500;
        Object message = request.getAttribute(ERROR_MESSAGE);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        if (!response.getHeaders().contains("x-request-id"))
            response.getHeaders().put("x-request-id", Ids.request());
        response.write(true, ByteBuffer.wrap(body(status, reason(message))), callback);
        return true;
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(new HttpField(HttpHeader.CONTENT_TYPE, "application/json"));
        fields.put("x-request-id", Ids.request());
        return ByteBuffer.wrap(body(status, reason(reason)));
    }

    /** Jetty's reason, unless it only repeats the status's name. */
    private static String reason(Object message) {
        if (!(message instanceof String text) || text.isBlank()) return null;
        for (int status = 400; status < 600; status++) {
            if (text.equalsIgnoreCase(HttpStatus.getMessage(status))) return null;
        }
        return text;
    }
}
