package dev.parley.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/** How {@code parley serve} writes its log on stderr: lines of text, or one JSON object per line. */
enum LogFormat {
    TEXT,
    JSON;

    /** Switches the log's stderr appender to this format (text is how the configuration starts). */
    void apply() {
        if (this == TEXT || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) return;
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (!(root.getAppender(LogSetup.APPENDER) instanceof OutputStreamAppender<ILoggingEvent> appender)) return;
        JsonLines encoder = new JsonLines();
        encoder.setContext(context);
        encoder.start();
        appender.stop();
        appender.setEncoder(encoder);
        appender.start();
    }

    /**
     * One JSON object per event: {@code time}, {@code level}, {@code logger}, {@code message}, then the
     * event's key-value pairs as fields of their own (numbers stay numbers), and {@code error} with the
     * stack trace when there is one.
     */
    static final class JsonLines extends EncoderBase<ILoggingEvent> {
        private static final byte[] NOTHING = new byte[0];

        @Override
        public byte[] headerBytes() {
            return NOTHING;
        }

        @Override
        public byte[] encode(ILoggingEvent event) {
            ObjectNode line = JsonNodeFactory.instance.objectNode();
            line.put("time", Instant.ofEpochMilli(event.getTimeStamp()).toString());
            line.put("level", event.getLevel().toString());
            line.put("logger", event.getLoggerName());
            line.put("message", event.getFormattedMessage());
            if (event.getKeyValuePairs() != null) {
                for (KeyValuePair pair : event.getKeyValuePairs()) {
                    switch (pair.value) {
                        case Integer i -> line.put(pair.key, i);
                        case Long l -> line.put(pair.key, l);
                        case Double d -> line.put(pair.key, d);
                        case Boolean b -> line.put(pair.key, b);
                        case null -> line.putNull(pair.key);
                        default -> line.put(pair.key, pair.value.toString());
                    }
                }
            }
            if (event.getThrowableProxy() != null)
                line.put("error", ThrowableProxyUtil.asString(event.getThrowableProxy()));
            return (line + "\n").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] footerBytes() {
            return NOTHING;
        }
    }
}
