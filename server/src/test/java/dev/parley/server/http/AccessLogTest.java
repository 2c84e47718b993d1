package dev.parley.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AccessLogTest {
    @Test
    void writesMillisecondsAsPercentPointOneFWould() {
        Random random = new Random(7);
        for (int i = 0; i < 200_000; i++) {
            double millis = i % 2 == 0 ? i / 1000.0 : random.nextDouble() * 100_000;
            assertThat(AccessLog.millis(millis))
                    .as("%s ms", millis)
                    .isEqualTo(String.format(Locale.ROOT, "%.1f", millis));
        }
        assertThat(AccessLog.millis(0.04)).isEqualTo("0.0");
        assertThat(AccessLog.millis(0.05)).isEqualTo("0.1");
        assertThat(AccessLog.millis(1234.96)).isEqualTo("1235.0");
    }
}
