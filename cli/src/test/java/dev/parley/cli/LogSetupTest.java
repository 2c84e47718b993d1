package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import java.nio.charset.StandardCharsets;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

class LogSetupTest {

    @Test
    void logbackFindsTheSetupAndItIsWhatThisJvmRunsWith() {
        assertThat(ServiceLoader.load(Configurator.class).stream().map(ServiceLoader.Provider::type))
                .contains(LogSetup.class);
        var root = ((LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory()).getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getAppender(LogSetup.APPENDER)).isInstanceOf(ConsoleAppender.class);
    }

    @Test
    void linesOfTextOnStderrAtInfoWithTheServersNeighboursQuietened() {
        LoggerContext context = configured();
        var root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        var appender = (ConsoleAppender<ch.qos.logback.classic.spi.ILoggingEvent>) root.getAppender(LogSetup.APPENDER);

        assertThat(appender.getTarget()).isEqualTo("System.err");
        assertThat(root.getLevel()).isEqualTo(Level.INFO);
        assertThat(context.getLogger("org.eclipse.jetty.server.Server").getEffectiveLevel())
                .isEqualTo(Level.WARN);
        assertThat(context.getLogger("io.javalin.Javalin").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("dev.parley.server.engine.llama.native").getEffectiveLevel())
                .isEqualTo(Level.ERROR);
        assertThat(context.getLogger("parley.access").getEffectiveLevel()).isEqualTo(Level.INFO);

        LoggingEvent event = new LoggingEvent(
                "x", context.getLogger("dev.parley.server.http.HttpApi"), Level.INFO, "Serving {}", null, new Object[] {
                    "demo"
                });
        event.setTimeStamp(0);
        Encoder<ch.qos.logback.classic.spi.ILoggingEvent> encoder = appender.getEncoder();
        assertThat(new String(encoder.encode(event), StandardCharsets.UTF_8))
                .matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  d\\.p\\.s\\.http\\.HttpApi - Serving demo\\R");
    }

    @Test
    void theLevelComesFromParleyLogLevel() {
        System.setProperty("PARLEY_LOG_LEVEL", "WARN");
        try {
            assertThat(configured().getLogger(Logger.ROOT_LOGGER_NAME).getLevel())
                    .isEqualTo(Level.WARN);
        } finally {
            System.clearProperty("PARLEY_LOG_LEVEL");
        }
    }

    @Test
    void aConfigurationFileNamedOnTheCommandLineWins() {
        System.setProperty("logback.configurationFile", "custom.xml");
        try {
            LoggerContext context = new LoggerContext();
            LogSetup setup = new LogSetup();
            setup.setContext(context);
            assertThat(setup.configure(context)).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
            assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender(LogSetup.APPENDER))
                    .isNull();
        } finally {
            System.clearProperty("logback.configurationFile");
        }
    }

    private static LoggerContext configured() {
        LoggerContext context = new LoggerContext();
        LogSetup setup = new LogSetup();
        setup.setContext(context);
        assertThat(setup.configure(context)).isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        return context;
    }
}
