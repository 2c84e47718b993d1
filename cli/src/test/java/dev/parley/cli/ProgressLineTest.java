package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.batch.BatchProgress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProgressLineTest {
    @Test
    void theBarShowsDoneFailedInFlightBothRatesAndTheTimeLeft() {
        // 400 lines; 100 done before, 98 + 2 now in 30 s; 200 left at 100 per 30 s is 60 s.
        var progress = new BatchProgress(400, 100, 0, 98, 2, 0, 0, 50, 1500, 3, 165_000, Duration.ofSeconds(30));
        assertThat(ProgressLine.bar(progress))
                .isEqualTo(
                        "[############............] 200/400  done 198  failed 2  in flight 50  3,000 req/min  330,000 tok/min  ETA 1:00");
    }

    @Test
    void theTimeLeftIsUnknownUntilTheFirstResult() {
        var progress = new BatchProgress(10, 0, 0, 0, 0, 0, 0, 5, 5, 0, 0, Duration.ofSeconds(1));
        assertThat(ProgressLine.counts(progress)).endsWith("ETA -");
    }
}
