package dev.parley.server.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.testkit.RedisServer;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stores behind the ledger, in a real folder and a real Redis: each flush is added once, days apart. */
class LedgerStoreTest {
    static final LocalDate MONDAY = LocalDate.parse("2026-11-30");
    static final LocalDate TUESDAY = MONDAY.plusDays(1);
    static final Map<LedgerStore.Line, Counts> FLUSH = Map.of(
            new LedgerStore.Line(MONDAY, "team", "demo"), new Counts(2, 30, 40),
            new LedgerStore.Line(MONDAY, "team", "other \"model\""), new Counts(1, 5, 0),
            new LedgerStore.Line(TUESDAY, "batch", "demo"), new Counts(1, 7, 8));

    static void addsEachFlushOnce(LedgerStore store) {
        store.add("flush-1", FLUSH);
        store.add("flush-1", FLUSH); // sent again: its answer was lost
        assertThat(store.read(MONDAY, TUESDAY)).isEqualTo(FLUSH);
        store.add("flush-2", Map.of(new LedgerStore.Line(MONDAY, "team", "demo"), new Counts(1, 1, 1)));
        assertThat(store.read(MONDAY, MONDAY))
                .isEqualTo(Map.of(
                        new LedgerStore.Line(MONDAY, "team", "demo"), new Counts(3, 31, 41),
                        new LedgerStore.Line(MONDAY, "team", "other \"model\""), new Counts(1, 5, 0)));
        assertThat(store.read(TUESDAY.plusDays(1), TUESDAY.plusDays(9))).isEmpty();
    }

    @Test
    void aFolderAddsEachFlushOnceAndOneServerWritesIt(@TempDir Path dir) {
        try (var store = FolderStore.open(dir, true)) {
            addsEachFlushOnce(store);
            assertThatThrownBy(() -> FolderStore.open(dir, true)).isInstanceOf(IllegalStateException.class);
            try (var reader = FolderStore.open(dir, false)) {
                assertThat(reader.read(MONDAY, TUESDAY)).hasSize(3);
            }
        }
    }

    @Test
    void redisAddsEachFlushOnce() {
        try (var redis = RedisServer.start();
                var store = RedisStore.at(redis.uri())) {
            addsEachFlushOnce(store);
        }
    }

    @Test
    void redisThatIsDownIsUnavailableNotAnUnexpectedFailure() {
        try (var redis = RedisServer.start();
                var store = RedisStore.at(redis.uri())) {
            redis.stop();
            assertThatThrownBy(() -> store.add("flush-1", FLUSH)).isInstanceOf(LedgerUnavailableException.class);
            assertThatThrownBy(() -> store.read(MONDAY, MONDAY)).isInstanceOf(LedgerUnavailableException.class);
        }
    }
}
