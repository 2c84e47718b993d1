package dev.parley.server.usage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A ledger in a real folder on a clock that moves only when told: days, months, spend and restarts. */
class UsageLedgerMonthTest {
    static final Map<String, Price> PRICES = Map.of("demo", Price.of(1_000_000, 2_000_000)); // $1 and $2 a token

    /** A clock that moves only when told. */
    static final class StepClock extends Clock {
        final AtomicReference<Instant> now;

        StepClock(String start) {
            now = new AtomicReference<>(Instant.parse(start));
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    }

    @Test
    void aReopenedLedgerAnswersTheMonthsSpendFromItsFirstQuestion(@TempDir Path dir) {
        // The month is read on the flusher thread, off the server's start: a budget check must wait for it.
        var clock = new StepClock("2026-11-15T12:00:00Z");
        try (var ledger = UsageLedger.inFolder(dir, clock)) {
            ledger.record("team", "demo", 3, 1); // $5, written by the flush on close
        }
        for (int start = 0; start < 20; start++) {
            try (var ledger = UsageLedger.inFolder(dir, clock)) {
                assertThat(ledger.spent("team", PRICES)).as("start %d", start).isEqualTo(5.0);
                ledger.flush(); // asked for while the first read may still run: counted once
                assertThat(ledger.spent("team", PRICES)).isEqualTo(5.0);
            }
        }
    }

    @Test
    void spendCountsThisCalendarMonthOnlyAndEveryModelAtItsPrice(@TempDir Path dir) {
        var clock = new StepClock("2026-11-30T23:59:00Z");
        try (var ledger = UsageLedger.inFolder(dir, clock)) {
            ledger.record("team", "demo", 3, 1);
            ledger.record("team", "unpriced", 1000, 1000);
            ledger.record("other", "demo", 100, 100);
            assertThat(ledger.spent("team", PRICES)).isEqualTo(5.0);
            ledger.flush();
            assertThat(ledger.spent("team", PRICES)).isEqualTo(5.0); // flushed, counted once

            clock.now.set(Instant.parse("2026-12-01T00:00:01Z"));
            assertThat(ledger.spent("team", PRICES)).isZero();
            ledger.record("team", "demo", 1, 0);
            assertThat(ledger.spent("team", PRICES)).isEqualTo(1.0);
            assertThat(ledger.rows(LocalDate.parse("2026-11-01"), LocalDate.parse("2026-12-31")))
                    .containsExactly(
                            new UsageRow(LocalDate.parse("2026-11-30"), "other", "demo", new Counts(1, 100, 100)),
                            new UsageRow(LocalDate.parse("2026-11-30"), "team", "demo", new Counts(1, 3, 1)),
                            new UsageRow(LocalDate.parse("2026-11-30"), "team", "unpriced", new Counts(1, 1000, 1000)),
                            new UsageRow(LocalDate.parse("2026-12-01"), "team", "demo", new Counts(1, 1, 0)));
        }
        // Started again in December: this month's spend comes back from the folder.
        try (var ledger = UsageLedger.inFolder(dir, new StepClock("2026-12-15T12:00:00Z"))) {
            assertThat(ledger.spent("team", PRICES)).isEqualTo(1.0);
            assertThat(ledger.spent("other", PRICES)).isZero();
            assertThat(ledger.rows(LocalDate.parse("2026-12-01"), LocalDate.parse("2026-12-01")))
                    .extracting(UsageRow::counts)
                    .isEqualTo(List.of(new Counts(1, 1, 0)));
        }
    }
}
