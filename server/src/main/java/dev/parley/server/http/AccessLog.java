package dev.parley.server.http;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * One line per request on the {@code parley.access} logger at INFO: request id, method, path, status, key
 * name (never the key), model, prompt and completion tokens, latency and time to first token. The same
 * facts go along as key-value pairs, which the JSON log format writes as fields.
 */
final class AccessLog {
    private static final Logger log = LoggerFactory.getLogger("parley.access");

    private AccessLog() {}

    static void write(Exchange exchange, String method, String path, int status, long nanos) {
        if (!log.isInfoEnabled()) return;
        double latency = nanos / 1e6;
        double ttft = exchange.timeToFirstTokenMillis();
        StringBuilder line = new StringBuilder()
                .append(exchange.requestId)
                .append(' ')
                .append(method)
                .append(' ')
                .append(path)
                .append(' ')
                .append(status);
        LoggingEventBuilder event = log.atInfo()
                .addKeyValue("request_id", exchange.requestId)
                .addKeyValue("method", method)
                .addKeyValue("path", path)
                .addKeyValue("status", status);
        if (exchange.key != null) {
            line.append(" key=").append(exchange.key);
            event = event.addKeyValue("key", exchange.key);
        }
        if (exchange.model != null) {
            line.append(" model=").append(exchange.model);
            event = event.addKeyValue("model", exchange.model);
        }
        if (exchange.promptTokens >= 0) {
            line.append(" prompt_tokens=").append(exchange.promptTokens);
            line.append(" completion_tokens=").append(exchange.completionTokens);
            event = event.addKeyValue("prompt_tokens", exchange.promptTokens)
                    .addKeyValue("completion_tokens", exchange.completionTokens);
        }
        line.append(" latency_ms=").append(millis(latency));
        event = event.addKeyValue("latency_ms", round(latency));
        if (ttft >= 0) {
            line.append(" ttft_ms=").append(millis(ttft));
            event = event.addKeyValue("ttft_ms", round(ttft));
        }
        event.log(line.toString());
    }

    /** Milliseconds to one decimal, as {@code %.1f} writes them (String.format cost more than the rest of the line). */
    static String millis(double millis) {
        long tenths = Math.round(Math.abs(millis) * 10);
        return (millis < 0 && tenths != 0 ? "-" : "") + tenths / 10 + "." + tenths % 10;
    }

    private static double round(double millis) {
        return Math.round(millis * 10) / 10.0;
    }
}
