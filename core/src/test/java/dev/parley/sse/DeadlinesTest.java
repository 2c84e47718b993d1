package dev.parley.sse;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class DeadlinesTest {
    final Deadlines deadlines = new Deadlines("deadlines-test");

    /** Due from the start (and, {@code again}, a millisecond after each call); opens {@code fired} at its {@code times}th call. */
    static final class Due implements Deadlines.Watched {
        final AtomicInteger calls = new AtomicInteger();
        final CountDownLatch fired;
        final boolean again;

        Due(int times, boolean again) {
            this.fired = new CountDownLatch(times);
            this.again = again;
        }

        volatile long dueAt = System.nanoTime();

        @Override
        public long due() {
            return dueAt;
        }

        @Override
        public long fire(long now) {
            calls.incrementAndGet();
            fired.countDown();
            if (!again) return Deadlines.FORGET;
            dueAt = now + 1_000_000;
            return dueAt;
        }
    }

    @Test
    void aStreamThatAsksToBeForgottenIsFiredOnceAndOneThatGoesOnAgainUntilForgotten() throws Exception {
        var once = new Due(1, false);
        deadlines.watch(once);
        assertThat(once.fired.await(10, TimeUnit.SECONDS)).isTrue();

        var repeating = new Due(3, true);
        deadlines.watch(repeating);
        assertThat(repeating.fired.await(10, TimeUnit.SECONDS)).isTrue();
        deadlines.forget(repeating);
        // A later stream is fired after the first was forgotten in the pass that fired it: it is never fired again.
        var later = new Due(1, false);
        deadlines.watch(later);
        assertThat(later.fired.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(once.calls).hasValue(1);
    }
}
