package dev.parley.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.util.Map;
import org.slf4j.Logger;

/**
 * The log as every command starts it: lines of text on stderr ({@code HH:mm:ss.SSS LEVEL logger - message}), at
 * the level {@code PARLEY_LOG_LEVEL} names (INFO when unset), with Jetty, Javalin and llama.cpp's own chatter
 * quietened. Written as code rather than a {@code logback.xml} because reading the XML cost 70–90 ms of every
 * start (logback builds a SAX parser and a model of the file first), a tenth of the server's start to its first
 * {@code /health}.
 *
 * <p>A {@code -Dlogback.configurationFile=...} still wins: then this steps aside and logback reads that file.
 * Found by logback through {@code META-INF/services}; {@link LogFormat} switches the appender to JSON later.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_TOP_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {
    /** The appender's name, as {@link LogFormat} finds it. */
    static final String APPENDER = "stderr";

    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n";

    /** Loggers quieter than the root: their INFO lines are noise to a Parley user. */
    static final Map<String, Level> QUIET = Map.of(
            "org.eclipse.jetty", Level.WARN,
            "io.javalin", Level.WARN,
            "dev.parley.server.engine.llama.native", Level.ERROR,
            // Lettuce retries every 200 ms while Redis is away; RateLimits and the batch budget say so once instead.
            "io.lettuce.core.protocol.ConnectionWatchdog", Level.ERROR);

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(context);
        appender.setName(APPENDER);
        appender.setTarget("System.err");
        appender.setEncoder(encoder);
        appender.start();
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        String asked = System.getProperty("PARLEY_LOG_LEVEL", System.getenv("PARLEY_LOG_LEVEL"));
        root.setLevel(Level.toLevel(asked, Level.INFO));
        root.addAppender(appender);
        QUIET.forEach((name, level) -> context.getLogger(name).setLevel(level));
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
